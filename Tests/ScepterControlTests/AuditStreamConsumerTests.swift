import Foundation
import Testing
import ScepterProtocol
import ScepterRedis
import ScepterTesting
@testable import ScepterControl

/// The audit stream consumer on a real Redis, copying into an in-memory SQLite store.
@Suite("Audit stream consumer", .timeLimit(.minutes(2)))
struct AuditStreamConsumerTests {
    /// A stream and group of the test's own, a migrated store, and a consumer named "replica-a".
    struct Fixture {
        let redis: RedisClient
        let store: SQLiteStore
        let stream: String
        let group = "scepter-control"

        init(migrated: Bool = true) async throws {
            redis = RedisClient(configuration: try .init(url: try TestRedis.url()), logger: ControlFixtures.logger)
            store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
            if migrated { try await store.migrate() }
            stream = TestRedis.uniquePrefix("audit") + "stream"
        }

        func consumer(
            _ name: String = "replica-a", claimAfter: Duration = .seconds(30), claimInterval: Duration = .seconds(5),
            metrics: ControlMetrics? = nil
        ) -> AuditStreamConsumer {
            // A client of its own, as in the control plane: `run` closes it when it ends.
            AuditStreamConsumer(
                client: RedisClient(configuration: redis.configuration, logger: ControlFixtures.logger), store: store, consumer: name, stream: stream, group: group, block: .milliseconds(20),
                batchWindow: .milliseconds(10), claimAfter: claimAfter, claimInterval: claimInterval, metrics: metrics,
                logger: ControlFixtures.logger)
        }

        /// Appends events the way an edge does: fields `id` and `event`.
        func append(_ ids: [String]) async throws {
            for (index, id) in ids.enumerated() {
                let event = ControlStoreContract.event(id: id, at: Double(index))
                _ = try await redis.send(["XADD", stream, "*", "id", id, "event", try event.jsonEncoded()])
            }
        }

        /// Reads up to `count` new entries as another consumer that never acknowledges them (a replica that died).
        func readAndAbandon(as name: String, count: Int) async throws {
            _ = try await redis.send(["XREADGROUP", "GROUP", group, name, "COUNT", count, "STREAMS", stream, ">"])
        }

        func copiedIDs() async throws -> Set<String> {
            Set(try await store.auditEvents(AuditQuery(limit: 1000)).map(\.id))
        }

        func length(_ key: String) async throws -> Int { Int(try await redis.send(["XLEN", key]).integer ?? -1) }

        /// Entries read but not acknowledged, per consumer.
        func pending() async throws -> [String: Int] {
            let reply = try await redis.send(["XPENDING", stream, group])
            guard let parts = reply.array, parts.count == 4, let consumers = parts[3].array else { return [:] }
            var counts: [String: Int] = [:]
            for consumer in consumers {
                if let pair = consumer.array, pair.count == 2, let name = pair[0].string, let count = pair[1].string {
                    counts[name] = Int(count)
                }
            }
            return counts
        }

        func cleanUp() async {
            _ = try? await redis.send(["DEL", stream, stream + ":dead"])
            await redis.close()
        }
    }

    @Test("A round copies new events, acknowledges and deletes their entries in one step, and moves a non-event to the dead-letter stream")
    func copiesAcknowledgesAndDeletes() async throws {
        let fixture = try await Fixture()
        defer { Task { await fixture.cleanUp() } }
        let consumer = fixture.consumer()
        try await consumer.createGroup()
        try await fixture.append(["e1", "e2", "e3"])
        _ = try await fixture.redis.send(["XADD", fixture.stream, "*", "garbage", "not an audit event"])

        var pace = AuditStreamConsumer.Pace(now: .now)
        #expect(try await consumer.round(&pace) == 4)
        #expect(try await fixture.copiedIDs() == ["e1", "e2", "e3"])
        #expect(try await fixture.length(fixture.stream) == 0, "copied entries are deleted: the length is the backlog")
        #expect(try await fixture.pending().isEmpty, "every entry read is acknowledged")
        #expect(try await fixture.length(consumer.deadLetterStream) == 1)
        #expect(!pace.ownPending, "nothing of its own is left to read again")

        // Nothing new: the round waits out its block and reads nothing.
        #expect(try await consumer.round(&pace) == 0)
    }

    @Test("Events a failed round read are not acknowledged, and the next round reads them again from the consumer's own pending entries")
    func failedRoundIsReadAgain() async throws {
        // An unmigrated store has no audit table: the insert fails.
        let fixture = try await Fixture(migrated: false)
        defer { Task { await fixture.cleanUp() } }
        let consumer = fixture.consumer()
        try await consumer.createGroup()
        try await fixture.append(["f1", "f2"])

        var pace = AuditStreamConsumer.Pace(now: .now)
        await #expect(throws: (any Error).self) { try await consumer.round(&pace) }
        #expect(try await fixture.pending() == ["replica-a": 2], "read, not acknowledged")
        #expect(try await fixture.length(fixture.stream) == 2)

        // The run loop marks the pace after a failure; with the table there, the own entries come first.
        pace.ownPending = true
        try await fixture.store.migrate()
        try await fixture.append(["f3"])
        #expect(try await consumer.round(&pace) == 2, "the round reads its own two entries, not the new one")
        #expect(try await fixture.copiedIDs() == ["f1", "f2"])
        #expect(try await consumer.round(&pace) == 1)
        #expect(try await fixture.copiedIDs() == ["f1", "f2", "f3"])
        #expect(try await fixture.pending().isEmpty)
    }

    @Test("Entries a dead replica left unacknowledged are claimed when the claim is due, not on every round")
    func staleEntriesClaimedWhenDue() async throws {
        let fixture = try await Fixture()
        defer { Task { await fixture.cleanUp() } }
        let consumer = fixture.consumer(claimAfter: .zero, claimInterval: .seconds(60))
        try await consumer.createGroup()
        try await fixture.append(["s1", "s2"])
        try await fixture.readAndAbandon(as: "replica-dead", count: 2)
        #expect(try await fixture.pending() == ["replica-dead": 2])

        let start = ContinuousClock.now
        var pace = AuditStreamConsumer.Pace(now: start)
        pace.ownPending = false
        #expect(try await consumer.round(&pace, now: start) == 2, "the first round claims")
        #expect(try await fixture.copiedIDs() == ["s1", "s2"])
        #expect(pace.nextClaim == start + .seconds(60))

        // Another abandoned entry: not looked for until the claim interval has passed.
        try await fixture.append(["s3"])
        try await fixture.readAndAbandon(as: "replica-dead", count: 1)
        #expect(try await consumer.round(&pace, now: start + .seconds(59)) == 0)
        #expect(try await fixture.pending() == ["replica-dead": 1])
        #expect(try await consumer.round(&pace, now: start + .seconds(60)) == 1)
        #expect(try await fixture.copiedIDs() == ["s1", "s2", "s3"])
        #expect(try await fixture.pending().isEmpty)
    }

    @Test("Running, the consumer copies events as they arrive and reports the backlog and the copied count")
    func runCopiesAsEventsArrive() async throws {
        let fixture = try await Fixture()
        defer { Task { await fixture.cleanUp() } }
        let metrics = ControlMetrics()
        let consumer = fixture.consumer(metrics: metrics)
        let running = Task { try await consumer.run() }
        defer { running.cancel() }

        var expected: Set<String> = []
        for batch in 0..<5 {
            let ids = (0..<(batch + 1)).map { "r\(batch)-\($0)" }
            try await fixture.append(ids)
            expected.formUnion(ids)
        }
        // Until the rows are in and the batch that held the last of them is
        // acknowledged and counted (it is counted after the commit). Bounded: 1500 × 20 ms.
        var copied: Set<String> = []
        var rendered = ""
        for _ in 0..<1500 {
            copied = try await fixture.copiedIDs()
            rendered = String(decoding: metrics.render(), as: UTF8.self)
            if copied == expected, rendered.contains("scepter_audit_events_copied_total 15\n") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(copied == expected)
        #expect(rendered.contains("scepter_audit_events_copied_total 15\n"), "\(rendered)")
        #expect(rendered.contains("scepter_audit_stream_backlog "))
        // Stopped before the stream is deleted, so it does not log the deletion as a failure.
        running.cancel()
        _ = await running.result
    }
}
