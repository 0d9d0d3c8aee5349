import AsyncHTTPClient
import Foundation
import NIOCore
import ScepterProtocol
import ScepterTesting
import Synchronization
import Testing

/// The cluster when a part of it fails (SPEC §3 step 7, §7): Redis, the
/// control plane, PostgreSQL, an edge killed outright, and a graceful drain.
@Suite("Cluster: faults", .serialized, .timeLimit(.minutes(10)))
struct ClusterFaultTests {
    /// A static-password enrollment of a fresh device through `edge`.
    static func enroll(_ cluster: TestCluster, edge: Int, transaction: String = "tx-\(UUID())") async throws
        -> (answer: TestCluster.HTTPAnswer, device: TestDevice, message: [UInt8])
    {
        let device = try TestDevice(commonName: "device-\(transaction.prefix(12))", challenge: TestCluster.staticPassword)
        let message = try device.pkcsReq(ra: cluster.ra, transactionID: transaction)
        return (try await cluster.pkiOperation(message, edge: edge), device, message)
    }

    /// A fresh device enrolls through edge 0 and gets its certificate.
    static func expectEnrollment(_ cluster: TestCluster) async throws {
        let enrolled = try await enroll(cluster, edge: 0)
        #expect(try TestCluster.reply(enrolled.answer, device: enrolled.device).status == .success)
    }

    /// `redis-cli` on the cluster's private Redis, as an operator would type it; it must succeed.
    static func redisCLI(_ cluster: TestCluster, _ arguments: String...) async throws {
        let run = try await Shell.run("/usr/bin/redis-cli", ["-p", "\(cluster.redis.port)"] + arguments)
        #expect(run.status == 0 && !run.stdout.contains("ERR"), "\(arguments): \(run.stdout) \(run.stderr)")
    }

    static func ready(_ cluster: TestCluster, edge: Int) async -> Bool {
        (try? await cluster.http(cluster.edgeURL(edge, "/readyz")))?.status == 200
    }

    @Test("Redis stopped: PKIOperation answers 503 with Retry-After, readiness is false, GetCACert still works; all recover when it returns")
    func redisStopped() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            let before = try await Self.enroll(cluster, edge: 0)
            #expect(try TestCluster.reply(before.answer, device: before.device).status == .success)

            await cluster.redis.stop()
            let during = try await Self.enroll(cluster, edge: 0)
            #expect(during.answer.status == 503)
            #expect(during.answer.retryAfter != nil)
            let readiness = try await cluster.http(cluster.edgeURL(0, "/readyz"))
            #expect(readiness.status == 503)
            #expect(readiness.text.contains("redis DOWN"), "\(readiness.text)")
            #expect(try await cluster.http(cluster.scepURL(edge: 0) + "?operation=GetCACert").status == 200)
            #expect(try await cluster.http(cluster.scepURL(edge: 0) + "?operation=GetCACaps").status == 200)

            try await cluster.redis.start()
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) }, "readiness returns with Redis")
            let after = try await Self.enroll(cluster, edge: 0)
            #expect(try TestCluster.reply(after.answer, device: after.device).status == .success)
            // The control plane's consumer re-created its group on the empty, restarted Redis and copies again.
            let transaction = try TestCluster.reply(after.answer, device: after.device).transactionID
            #expect(await cluster.eventually {
                (try? await cluster.count("SELECT count(*) FROM audit_events WHERE transaction_id = '\(transaction)' AND NOT provisional")) == 1
            })
        }
    }

    @Test("Redis set to evict keys when full: its new connections are refused, PKIOperation answers 503 and readiness names the policy; noeviction again recovers")
    func redisThatMayEvictIsRefused() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            // An operator (or a managed service's default) turns eviction on; every client reconnects.
            try await Self.redisCLI(cluster, "CONFIG", "SET", "maxmemory", "64mb")
            try await Self.redisCLI(cluster, "CONFIG", "SET", "maxmemory-policy", "volatile-lru")
            try await Self.redisCLI(cluster, "CLIENT", "KILL", "TYPE", "normal")

            let during = try await Self.enroll(cluster, edge: 0)
            #expect(during.answer.status == 503)
            let edge = try await cluster.http(cluster.edgeURL(0, "/readyz"))
            #expect(edge.status == 503)
            #expect(edge.text.contains("redis DOWN (SCEPTER_REDIS_URL)") && edge.text.contains("maxmemory-policy volatile-lru"), "\(edge.text)")
            let control = try await cluster.http(cluster.controlURL("/readyz"))
            #expect(control.text.contains("maxmemory-policy volatile-lru"), "\(control.text)")

            try await Self.redisCLI(cluster, "CONFIG", "SET", "maxmemory-policy", "noeviction")
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) }, "readiness returns with noeviction")
            try await Self.expectEnrollment(cluster)
        }
    }

    @Test("Redis demoted to a replica under live connections: the first write's READONLY drops them, PKIOperation answers 503, readiness names the replica; promoted, it recovers")
    func redisDemotedToAReplica() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            try await Self.expectEnrollment(cluster)
            let primary = try await RedisServerProcess.start()
            try await Self.redisCLI(cluster, "REPLICAOF", "127.0.0.1", "\(primary.port)")

            let during = try await Self.enroll(cluster, edge: 0)
            #expect(during.answer.status == 503)
            #expect(await cluster.eventually {
                (try? await cluster.http(cluster.edgeURL(0, "/readyz")))?.text.contains("the server is a replica of 127.0.0.1:\(primary.port)") == true
            }, "edge readiness names the replica")

            try await Self.redisCLI(cluster, "REPLICAOF", "NO", "ONE")
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) }, "readiness returns once it is a primary again")
            try await Self.expectEnrollment(cluster)
            await primary.stop()
        }
    }

    @Test("Database read-only (a failover that left the pool on a standby): PKIOperation answers 503, readiness says so; writable again, it recovers")
    func readOnlyDatabase() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            let name = try #require(try await cluster.sql("SELECT current_database()").first?.first)
            try await Self.expectEnrollment(cluster)

            // New sessions start read-only, and the control plane's sessions are cut, as a failover does.
            // Only this role's sessions: an autovacuum worker on this database has no role, and
            // signalling it needs a superuser ("must be a superuser to terminate superuser process").
            _ = try await cluster.sql("ALTER DATABASE \"\(name)\" SET default_transaction_read_only = on")
            _ = try await cluster.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(name)' AND usename = current_user AND pid <> pg_backend_pid()")
            let during = try await Self.enroll(cluster, edge: 0)
            #expect(during.answer.status == 503 && during.answer.retryAfter != nil, "\(during.answer.status)")
            let readiness = try await cluster.http(cluster.controlURL("/readyz"))
            #expect(readiness.status == 503)
            #expect(readiness.text.contains("database DOWN (SCEPTER_DATABASE_URL): read-only (transaction_read_only is on"), "\(readiness.text)")
            #expect(await cluster.eventually { !(await Self.ready(cluster, edge: 0)) }, "the edge follows the control plane out of service")

            // Writable again, for new sessions only: the control plane retires the read-only ones it meets.
            _ = try await cluster.sql("BEGIN READ WRITE; ALTER DATABASE \"\(name)\" SET default_transaction_read_only = off; COMMIT")
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) }, "readiness returns with a writable database")
            try await Self.expectEnrollment(cluster)
        }
    }

    @Test("Control plane stopped: 503, readiness false, cached CA chain served; after restart a retried transaction gets the same certificate")
    func controlPlaneStopped() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            let first = try await Self.enroll(cluster, edge: 0)
            let issued = try TestCluster.reply(first.answer, device: first.device)
            #expect(issued.status == .success)

            #expect(await cluster.stopControl() == 0, "SIGTERM drains and exits 0")
            let retried = try await cluster.pkiOperation(first.message, edge: 0)
            #expect(retried.status == 503)
            #expect(retried.retryAfter != nil)
            let second = try await Self.enroll(cluster, edge: 0)
            #expect(second.answer.status == 503, "nothing was accepted, so the device retries")
            let readiness = try await cluster.http(cluster.edgeURL(0, "/readyz"))
            #expect(readiness.status == 503)
            #expect(readiness.text.contains("control plane DOWN"), "\(readiness.text)")
            #expect(try await cluster.http(cluster.scepURL(edge: 0) + "?operation=GetCACert").status == 200, "the cached chain")

            try await cluster.startControl()
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) })
            let again = try TestCluster.reply(try await cluster.pkiOperation(first.message, edge: 0), device: first.device)
            #expect(again.status == .success)
            #expect(again.certificates.first == issued.certificates.first, "the same certificate, not a second one")
            let secondRetry = try TestCluster.reply(try await cluster.pkiOperation(second.message, edge: 0), device: second.device)
            #expect(secondRetry.status == .success)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 2)
            // Five requests, five audit rows: the 503s were written to the stream while the control plane was away.
            #expect(try await cluster.waitForAudit(5) == 5)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'unavailable'") == 2)
        }
    }

    @Test("A CA rollover on the control plane reaches an edge's GetNextCACert on its SIGHUP, not only at the 5-minute refresh")
    func rolloverReachesTheEdgeOnReload() async throws {
        try await ClusterTests.withCluster(edges: 1) { cluster in
            let nextCA = cluster.directory.appendingPathComponent("next")
            let initialized = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", nextCA.path, "--ca-name", "Next CA"])
            try #require(initialized.status == 0, "\(initialized.stderr)")
            let url = cluster.scepURL(edge: 0) + "?operation=GetNextCACert"
            #expect(try await cluster.http(url).status == 404, "no next CA yet")

            // The operator configures the successor and restarts the control plane.
            #expect(await cluster.stopControl() == 0)
            try await cluster.startControl(environment: ["SCEPTER_ISSUER_MAIN_NEXT_CA_CERT_PATH": nextCA.appendingPathComponent("ca.pem").path])
            // Not the edge's /readyz: its check fetches the first profile's chain again.
            #expect(await cluster.eventually { (try? await cluster.http(cluster.controlURL("/readyz")))?.status == 200 })
            #expect(try await cluster.http(url).status == 404, "the edge serves its cached chain until a reload or its refresh")

            let edge = try #require(cluster.edges.first)
            kill(edge.pid, SIGHUP)
            #expect(await cluster.eventually(timeout: .seconds(20)) { (try? await cluster.http(url))?.status == 200 })
            #expect(edge.log.contains("the control plane's CA chain changed; serving the new one"), "\(edge.log.suffix(2000))")
        }
    }

    @Test("PostgreSQL stopped: the control plane's readiness names the database within the edges' second, so the edges say not ready, not unreachable")
    func postgresStoppedReadiness() async throws {
        let postgres = try await PostgresServerProcess.start()
        try await ClusterTests.withCluster(edges: 1, databaseURL: postgres.url) { cluster in
            try await Self.expectEnrollment(cluster)
            try await postgres.stop()
            let control = try await cluster.http(cluster.controlURL("/readyz"))
            #expect(control.status == 503)
            #expect(control.text.contains("database DOWN (SCEPTER_DATABASE_URL)"), "\(control.text)")
            // The edge asks at most once a second; wait (bounded) for an answer from after the stop.
            let named = await cluster.eventually(timeout: .seconds(20)) {
                (try? await cluster.http(cluster.edgeURL(0, "/readyz")))?.text.contains("control plane DOWN: not ready (its /readyz answered 503)") == true
            }
            let edgeReadiness = (try? await cluster.http(cluster.edgeURL(0, "/readyz")))?.text ?? ""
            #expect(named, "\(edgeReadiness)")
            try await postgres.resume()
            #expect(await cluster.eventually { await Self.ready(cluster, edge: 0) }, "readiness returns with the database")
        }
    }

    @Test("PostgreSQL stopped during load: enrollments answer 503, audit events wait in the stream and all arrive after it returns")
    func postgresStoppedDuringLoad() async throws {
        let postgres = try await PostgresServerProcess.start()
        try await ClusterTests.withCluster(edges: 2, databaseURL: postgres.url) { cluster in
            let answers = Shared<[Int: Int]>([:])
            let total = 24
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<2 {
                    group.addTask {
                        for index in stride(from: worker, to: total, by: 2) {
                            let (answer, _, _) = try await Self.enroll(cluster, edge: worker)
                            answers.withLock { $0[answer.status, default: 0] += 1 }
                            if index == 8 { try await postgres.stop() }
                            if index == 17 { try await postgres.resume() }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let counts = answers.withLock { $0 }
            #expect(counts.values.reduce(0, +) == total)
            #expect(counts[503, default: 0] > 0, "some requests met the outage: \(counts)")
            #expect(counts[200, default: 0] > 0, "\(counts)")
            // Every request's event reaches the database once it is back.
            let audited = try await cluster.waitForAudit(total)
            #expect(audited == total)
            let outcomes = try await cluster.sql("SELECT outcome, count(*) FROM audit_events WHERE NOT provisional GROUP BY 1 ORDER BY 1")
            let successes = try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'success'")
            #expect(successes == counts[200, default: 0], "\(outcomes)")
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'unavailable'") == counts[503, default: 0])
            // A commit the server made just before it crashed may not have reached the control plane
            // (the edge answered 503): that certificate's row is `unavailable` but names its serial.
            #expect(try await cluster.count("SELECT count(*) FROM certificates") >= successes)
            #expect(try await cluster.count(
                "SELECT count(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.serial = c.serial AND a.outcome IN ('success', 'unavailable'))") == 0)
            if audited != total || successes != counts[200, default: 0] {
                Issue.record("answers \(counts), audit \(outcomes); logs:\n\(cluster.logs)")
            }
        }
    }

    @Test("An edge killed with SIGKILL mid-load leaves no partial state: every certificate has its audit row")
    func edgeKilledMidLoad() async throws {
        try await ClusterTests.withCluster(edges: 2) { cluster in
            let answered = Shared<[String]>([])
            let victim = cluster.edges[0]
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        // Stop once the edge is gone: a client would move to another edge.
                        for index in 0..<12 where victim.isRunning {
                            let transaction = "kill-\(worker)-\(index)-\(UUID())"
                            guard let (answer, device, _) = try? await Self.enroll(cluster, edge: 0, transaction: transaction) else { continue }
                            if answer.status == 200, (try? TestCluster.reply(answer, device: device))?.status == .success {
                                answered.withLock { $0.append(transaction) }
                            }
                        }
                    }
                }
                group.addTask {
                    // Mid-load: after six successes, or after 2 minutes if the load stalls (then the expectations below tell).
                    let deadline = ContinuousClock.now + .seconds(120)
                    while answered.withLock({ $0.count }) < 6, ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    await victim.kill9()
                }
            }
            let successes = answered.withLock { $0 }
            #expect(!successes.isEmpty)
            #expect(!victim.isRunning)

            // The surviving edge keeps serving.
            let after = try await Self.enroll(cluster, edge: 1)
            #expect(try TestCluster.reply(after.answer, device: after.device).status == .success)

            // Let the consumer drain, then: no certificate without an audit row, no issued enrollment without its certificate.
            #expect(await cluster.eventually {
                (try? await cluster.count(
                    "SELECT count(*) FROM audit_events WHERE NOT provisional AND transaction_id = '\(try! TestCluster.reply(after.answer, device: after.device).transactionID)'")) == 1
            })
            #expect(try await cluster.count(
                "SELECT count(*) FROM certificates c WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.transaction_id = c.transaction_id AND a.serial = c.serial)") == 0)
            #expect(try await cluster.count(
                "SELECT count(*) FROM enrollments e WHERE e.status = 'issued' AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.serial = e.serial)") == 0)
            // Every answer a device received was audited by the edge before it was sent.
            let quoted = successes.map { "'\($0)'" }.joined(separator: ",")
            #expect(try await cluster.count(
                "SELECT count(DISTINCT transaction_id) FROM audit_events WHERE NOT provisional AND outcome = 'success' AND transaction_id IN (\(quoted))") == successes.count)
        }
    }

    @Test("An edge with the wrong edge token is not ready, answers 503, and its log names SCEPTER_EDGE_TOKEN")
    func wrongEdgeTokenIsVisible() async throws {
        try await ClusterTests.withCluster(edges: 0) { cluster in
            try await cluster.startEdge(id: "edge-wrong-token", environment: ["SCEPTER_EDGE_TOKEN": "not-the-edge-token-but-just-as-long-\(UUID().uuidString)"])
            let readiness = try await cluster.http(cluster.edgeURL(0, "/readyz"))
            #expect(readiness.status == 503)
            #expect(readiness.text.contains("control plane DOWN"), "\(readiness.text)")
            #expect(readiness.text.contains("SCEPTER_EDGE_TOKEN"), "readiness names the setting at fault: \(readiness.text)")
            let attempt = try await Self.enroll(cluster, edge: 0)
            #expect(attempt.answer.status == 503)
            #expect(cluster.edges[0].log.contains("SCEPTER_EDGE_TOKEN"), "\(cluster.edges[0].log)")
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 0)
        }
    }

    @Test("Per-edge tokens: an edge dropped from SCEPTER_EDGE_TOKENS is cut off while the other keeps enrolling; a rotated token works at once")
    func oneEdgeIsCutOff() async throws {
        let tokenA = "edge-a-token-\(UUID().uuidString)"
        let tokenB = "edge-b-token-\(UUID().uuidString)"
        let tokenA2 = "edge-a-next-token-\(UUID().uuidString)"
        try await ClusterTests.withCluster(edges: 0, environment: ["SCEPTER_EDGE_TOKENS": "edge-a:\(tokenA),edge-b:\(tokenB)"]) { cluster in
            try await cluster.startEdge(id: "edge-a", environment: ["SCEPTER_EDGE_TOKEN": tokenA])
            try await cluster.startEdge(id: "edge-b", environment: ["SCEPTER_EDGE_TOKEN": tokenB])
            #expect(try await Self.enroll(cluster, edge: 0).answer.status == 200)
            #expect(try await Self.enroll(cluster, edge: 1).answer.status == 200)

            // Rotation: edge-a's next token listed beside the old one; edge-b's removed.
            await cluster.stopControl()
            try await cluster.startControl(environment: ["SCEPTER_EDGE_TOKENS": "edge-a:\(tokenA),edge-a-next:\(tokenA2)"])
            #expect(try await Self.enroll(cluster, edge: 0).answer.status == 200)
            let refused = try await Self.enroll(cluster, edge: 1)
            #expect(refused.answer.status == 503)
            let readiness = try await cluster.http(cluster.edgeURL(1, "/readyz"))
            #expect(readiness.status == 503)
            #expect(readiness.text.contains("SCEPTER_EDGE_TOKEN"), "\(readiness.text)")
            // A new edge with the rotated token.
            try await cluster.startEdge(id: "edge-a2", environment: ["SCEPTER_EDGE_TOKEN": tokenA2])
            #expect(try await Self.enroll(cluster, edge: 2).answer.status == 200)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 4)
        }
    }

    @Test("Each role refuses to start without its configuration and names every missing variable")
    func rolesPreflight() async throws {
        for (role, variables) in [
            ("edge", ["SCEPTER_PROFILES", "SCEPTER_CONTROL_URL", "SCEPTER_EDGE_TOKEN", "SCEPTER_REDIS_URL"]),
            ("control", ["SCEPTER_PROFILES", "SCEPTER_DATABASE_URL", "SCEPTER_EDGE_TOKEN", "SCEPTER_REDIS_URL"]),
        ] {
            let run = try await Shell.run(DevServerProcess.binary, [role], environment: ["PATH": "/usr/bin:/bin"])
            #expect(run.status == 2, "scepter \(role): \(run.stderr)")
            for variable in variables {
                #expect(run.stderr.contains(variable), "scepter \(role) does not name \(variable): \(run.stderr)")
            }
        }
    }

    @Test("A burst beyond the old 64-connection pool waits for a slow control plane and is issued, not answered 503 after 1 s")
    func burstWaitsForASlowControlPlane() async throws {
        try await ClusterTests.withCluster(edges: 1, environment: ["SCEPTER_EDGE_WAIT_BUDGET": "20s"]) { cluster in
            let burst = 80
            // One key pair for all 80 (each its own CSR and transaction): 80 RSA key generations would hold a thread
            // of the shared cooperative pool for seconds and starve the suites running beside this one.
            let signer = try TestPKI.makeLeaf(commonName: "burst")
            let messages = try (0..<burst).map { index in
                let device = try TestDevice(commonName: "burst-\(index)", challenge: TestCluster.staticPassword, signer: signer)
                return (device, try device.pkcsReq(ra: cluster.ra, transactionID: "burst-\(index)-\(UUID())"))
            }
            // Every enrollment waits on the database for 1.5 s, so all 80 hold a connection to the control plane at once
            // (past the edge's 1 s wait for a pooled connection, within the control plane's 2 s wait for a database one).
            let holder = try await cluster.holdEnrollmentsLock(seconds: 1.5)
            // A client with a connection per device, so all 80 reach the edge at once.
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: burst)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let answers: [(http: Int, scep: SCEPClient.Reply?)]
            do {
                answers = try await withThrowingTaskGroup(of: (http: Int, scep: SCEPClient.Reply?).self) { group in
                    for (device, message) in messages {
                        group.addTask {
                            let answer = try await cluster.pkiOperation(message, edge: 0, client: client)
                            return (answer.status, answer.status == 200 ? try TestCluster.reply(answer, device: device) : nil)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            _ = try await holder.value
            #expect(answers.count == burst)
            #expect(answers.filter { $0.scep?.status == .success }.count == burst, "HTTP statuses: \(answers.map(\.http).sorted())")
            #expect(try await cluster.count("SELECT count(*) FROM certificates WHERE transaction_id LIKE 'burst-%'") == burst)
        }
    }

    @Test("SIGTERM drains: a request in flight completes, then the edge exits 0")
    func sigtermDrainsInFlightRequests() async throws {
        try await ClusterTests.withCluster(edges: 1, environment: ["SCEPTER_EDGE_WAIT_BUDGET": "20s"]) { cluster in
            let holder = try await cluster.holdEnrollmentsLock(seconds: 3)
            let edge = cluster.edges[0]
            async let inFlight = Self.enroll(cluster, edge: 0)
            try await Task.sleep(for: .milliseconds(700))
            let exit = Task { await edge.terminate(grace: .seconds(60)) }
            let (answer, device, _) = try await inFlight
            #expect(answer.status == 200)
            #expect(try TestCluster.reply(answer, device: device).status == .success, "the request in flight was answered")
            #expect(await exit.value == 0)
            _ = try await holder.value
            #expect(try await cluster.waitForAudit(1) == 1)
        }
    }
}

/// State the tasks of one test share.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<Result>(_ body: (inout sending Value) -> sending Result) -> sending Result {
        value.withLock(body)
    }
}
