import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// The cluster with TLS between its parts: the control plane on HTTPS with
/// mutual TLS for the internal API, edges verifying it with their CA bundle
/// and presenting client certificates.
@Suite("Cluster: TLS between edges and the control plane", .serialized, .timeLimit(.minutes(3)))
struct TLSClusterTests {
    static func environment(_ tls: TestTLS, port: Int) -> [String: String] {
        [
            "SCEPTER_CONTROL_TLS_CERT_PATH": tls.serverCertificatePath, "SCEPTER_CONTROL_TLS_KEY_PATH": tls.serverKeyPath,
            "SCEPTER_CONTROL_CLIENT_CA_PATH": tls.caPath, "SCEPTER_CONTROL_URL": "https://127.0.0.1:\(port)",
            "SCEPTER_CONTROL_CA_PATH": tls.caPath, "SCEPTER_EDGE_CLIENT_CERT_PATH": tls.clientCertificatePath,
            "SCEPTER_EDGE_CLIENT_KEY_PATH": tls.clientKeyPath,
        ]
    }

    static func readiness(_ cluster: TestCluster, edge: Int) async throws -> TestCluster.HTTPAnswer {
        try await cluster.http(cluster.edgeURL(edge, "/readyz"))
    }

    @Test("Edges with the control plane's CA and a client certificate enroll over mutual TLS; without a certificate, with a rogue one, or trusting another CA they cannot")
    func mutualTLS() async throws {
        let tls = try TestTLS.make()
        let port = try RedisServerProcess.freeLoopbackPort()
        var environment = Self.environment(tls, port: port)
        environment["SCEPTER_CONTROL_LISTEN"] = "127.0.0.1:\(port)"
        try await ClusterTests.withCluster(edges: 0, environment: environment) { cluster in
            try await cluster.startEdge(id: "edge-tls")
            #expect(try await Self.readiness(cluster, edge: 0).status == 200)
            let device = try TestDevice(commonName: "over-tls", challenge: TestCluster.staticPassword)
            let enrolled = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 0)
            #expect(try TestCluster.reply(enrolled, device: device).status == .success)

            // No client certificate: the token alone does not open the internal API.
            try await cluster.startEdge(id: "edge-no-cert", environment: ["SCEPTER_EDGE_CLIENT_CERT_PATH": "", "SCEPTER_EDGE_CLIENT_KEY_PATH": ""])
            let noCert = try await Self.readiness(cluster, edge: 1)
            #expect(noCert.status == 503)
            #expect(noCert.text.contains("SCEPTER_CONTROL_CLIENT_CA_PATH"), "\(noCert.text)")

            // A client certificate from another CA: the handshake fails.
            try await cluster.startEdge(id: "edge-rogue", environment: [
                "SCEPTER_EDGE_CLIENT_CERT_PATH": tls.rogueClientCertificatePath, "SCEPTER_EDGE_CLIENT_KEY_PATH": tls.rogueClientKeyPath,
            ])
            #expect(try await Self.readiness(cluster, edge: 2).status == 503)
            let rogue = try TestDevice(commonName: "rogue", challenge: TestCluster.staticPassword)
            #expect(try await cluster.pkiOperation(try rogue.pkcsReq(ra: cluster.ra), edge: 2).status == 503)

            // Trusting another CA: the control plane's certificate is refused.
            try await cluster.startEdge(id: "edge-wrong-ca", environment: ["SCEPTER_CONTROL_CA_PATH": tls.rogueCAPath])
            #expect(try await Self.readiness(cluster, edge: 3).status == 503)

            // Plain HTTP to the TLS listener goes nowhere.
            try await cluster.startEdge(id: "edge-plain", environment: [
                "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(port)", "SCEPTER_CONTROL_CA_PATH": "", "SCEPTER_EDGE_CLIENT_CERT_PATH": "",
                "SCEPTER_EDGE_CLIENT_KEY_PATH": "",
            ])
            #expect(try await Self.readiness(cluster, edge: 4).status == 503)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 1)
        }
    }
}
