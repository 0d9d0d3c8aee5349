import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// Floods against a real cluster: the per-source limit shared by the edges,
/// audit rows for unauthenticated garbage sampled, enrollments from
/// everyone else unaffected, the client address taken from trusted proxies.
@Suite("Cluster: abuse", .serialized, .timeLimit(.minutes(4)))
struct AbuseClusterTests {
    @Test("10 000 malformed requests from one address: 429 with Retry-After once over its limit on either edge, two audit rows, counted in metrics; enrollments from other addresses keep working")
    func floodFromOneSource() async throws {
        let environment = ["SCEPTER_TRUSTED_PROXIES": "127.0.0.1", "SCEPTER_SOURCE_RATE_LIMIT": "300"]
        try await ClusterTests.withCluster(environment: environment) { cluster in
            let attacker = "198.51.100.7"
            let garbage = Array("not a PKIMessage at all".utf8)
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var seen: [Int: Int] = [:]
                        for index in 0..<1250 {
                            let answer = try await cluster.pkiOperation(garbage, edge: (worker + index) % 2, forwardedFor: attacker)
                            seen[answer.status, default: 0] += 1
                            if answer.status == 429 { #expect(answer.retryAfter.flatMap(Int.init).map { $0 >= 1 } == true) }
                        }
                        return seen
                    }
                }
                return try await group.reduce(into: [:]) { total, part in total.merge(part, uniquingKeysWith: +) }
            }
            #expect(statuses.values.reduce(0, +) == 10_000)
            // The bucket holds 300 and refills 5/s; both edges draw on it.
            let seconds = (ContinuousClock.now - started).timeInterval
            let allowed = 300 + Int(seconds * 5) + 5
            #expect((statuses[400] ?? 0) >= 300 && (statuses[400] ?? 0) <= allowed, "\(statuses) in \(seconds) s")
            #expect((statuses[429] ?? 0) == 10_000 - (statuses[400] ?? 0), "\(statuses)")

            // Someone else, through the same proxy, enrolls at once; the proxy
            // writes the hop with a port, as Azure Application Gateway does.
            let device = try TestDevice(commonName: "bystander", challenge: TestCluster.staticPassword)
            let enrolled = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 0, forwardedFor: "203.0.113.5:51324")
            #expect(try TestCluster.reply(enrolled, device: device).status == .success)

            // The flood cost at most one audit row per edge, outcome and minute; the bystander's is there with its address.
            _ = try await cluster.waitForAudit(1)
            let deadline = ContinuousClock.now + .seconds(20)
            while try await cluster.count("SELECT count(*) FROM audit_events WHERE source_ip = '203.0.113.5'") < 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE source_ip = '203.0.113.5' AND outcome = 'success'") == 1)
            let floodRows = try await cluster.count("SELECT count(*) FROM audit_events WHERE source_ip = '\(attacker)'")
            // One row per edge, outcome and started minute at most.
            let minutes = Int((seconds / 60).rounded(.up)) + 1
            #expect(floodRows >= 2 && floodRows <= 2 * 2 * minutes, "flood rows: \(floodRows) in \(seconds) s")
            var unaudited = 0
            for edge in 0..<2 {
                let metrics = try await cluster.http(cluster.edgeURL(edge, "/metrics")).text
                for line in metrics.split(separator: "\n") where line.hasPrefix("scepter_unaudited_refusals_total{") {
                    unaudited += Int(Double(line.split(separator: " ").last ?? "") ?? 0)
                }
            }
            #expect(unaudited == 10_000 - floodRows, "every request not audited is counted")
        }
    }
}
