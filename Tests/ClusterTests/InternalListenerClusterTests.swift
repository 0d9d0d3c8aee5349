import Foundation
import Testing
import ScepterTesting

/// `SCEPTER_EDGE_INTERNAL_LISTEN` / `SCEPTER_CONTROL_INTERNAL_LISTEN`: metrics
/// and readiness detail on a listener of their own, the public one reduced
/// to ready or not.
@Suite("Cluster: internal listeners for metrics and readiness", .serialized, .timeLimit(.minutes(5)))
struct InternalListenerClusterTests {
    @Test("With internal listeners, /metrics and the readiness detail leave the public listeners")
    func metricsMoveToTheInternalListener() async throws {
        // Port 0: the kernel picks, the banner tells (two picked free ports could be the same one).
        try await ClusterTests.withCluster(edges: 0, environment: ["SCEPTER_CONTROL_INTERNAL_LISTEN": "127.0.0.1:0"]) { cluster in
            let edge = try await cluster.startEdge(id: "edge-internal", environment: ["SCEPTER_EDGE_INTERNAL_LISTEN": "127.0.0.1:0"])
            let controlInternal = try #require(await cluster.control?.internalListenerPort(), "no internal listener banner from the control plane")
            let edgeInternal = try #require(await edge.internalListenerPort(), "no internal listener banner from the edge")
            // Public: ready or not, nothing more; no metrics.
            let publicReady = try await cluster.http(cluster.edgeURL(0, "/readyz"))
            #expect(publicReady.status == 200)
            #expect(publicReady.text == "ready\n", "\(publicReady.text)")
            #expect(try await cluster.http(cluster.edgeURL(0, "/metrics")).status == 404)
            #expect(try await cluster.http(cluster.controlURL("/metrics")).status == 404)
            let controlReady = try await cluster.http(cluster.controlURL("/readyz")).text
            #expect(controlReady.hasPrefix("ready") && !controlReady.contains("database"), "\(controlReady)")
            // Internal: the detail and the metrics.
            let detail = try await cluster.http("http://127.0.0.1:\(edgeInternal)/readyz")
            #expect(detail.status == 200)
            #expect(detail.text.contains("redis up") && detail.text.contains("control plane up"), "\(detail.text)")
            #expect(try await cluster.http("http://127.0.0.1:\(edgeInternal)/metrics").text.contains("scepter_"))
            #expect(try await cluster.http("http://127.0.0.1:\(controlInternal)/metrics").text.contains("scepter_"))
            #expect(try await cluster.http("http://127.0.0.1:\(controlInternal)/readyz").text.contains("database up"))
            // SCEP is not on the internal listener.
            #expect(try await cluster.http("http://127.0.0.1:\(edgeInternal)/scep/corp?operation=GetCACaps").status == 404)
        }
    }
}
