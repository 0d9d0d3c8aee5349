import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// `SCEPTER_AUDIT_RETENTION` on real `scepter control` processes and PostgreSQL.
@Suite("Cluster: audit retention", .serialized, .timeLimit(.minutes(3)))
struct AuditRetentionClusterTests {
    @Test("Replicas prune audit rows older than the retention as they start: counted once, newer rows and the certificates stay")
    func replicasPruneOnce() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            for index in 0..<2 {
                let device = try TestCluster.device(name: "OLD-\(index)", challenge: TestCluster.staticPassword)
                let answer = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 0)
                #expect(try TestCluster.reply(answer, device: device).status == .success)
            }
            #expect(try await cluster.waitForAudit(2) == 2)
            // One request from 401 days ago, one from 399: only the first is past the default 400 days.
            _ = try await cluster.sql(#"UPDATE audit_events SET "time" = now() - interval '401 days' WHERE csr_subject LIKE '%OLD-0%'"#)
            _ = try await cluster.sql(#"UPDATE audit_events SET "time" = now() - interval '399 days' WHERE csr_subject LIKE '%OLD-1%'"#)

            // Two replicas start together; each prunes at start (one at a time, under the lease).
            async let first = cluster.startReplica(id: "control-b")
            async let second = cluster.startReplica(id: "control-c")
            let replicas = try await [first, second]
            #expect(await cluster.eventually { (try? await cluster.count("SELECT count(*) FROM audit_events WHERE operation = 'PKIOperation'")) == 1 })
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE csr_subject LIKE '%OLD-1%'") == 1)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 2, "the inventory is never pruned")

            // Every replica logged its round; together they deleted the one row.
            var pruned = 0
            for replica in replicas {
                let metrics = try await cluster.http(replica + "/metrics")
                let line = metrics.text.split(separator: "\n").first { $0.hasPrefix("scepter_audit_events_pruned_total ") }
                pruned += Int(line?.split(separator: " ").last ?? "") ?? -100
            }
            #expect(pruned == 1, "\(cluster.logs)")
            #expect(cluster.logs.contains("audit events older than the retention pruned"))
        }
    }

    @Test("A retention under a day stops scepter control, naming the variable")
    func shortRetentionRefused() async throws {
        let run = try await Shell.run(
            DevServerProcess.binary, ["control"], environment: ["PATH": "/usr/bin:/bin", "SCEPTER_AUDIT_RETENTION": "12h"], timeout: .seconds(60))
        #expect(run.status == 2)
        #expect(run.stderr.contains(#"SCEPTER_AUDIT_RETENTION: "12h" is under 1d"#), "\(run.stderr)")
    }
}
