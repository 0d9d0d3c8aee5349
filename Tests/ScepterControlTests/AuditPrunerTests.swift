import Foundation
import Synchronization
import Testing
import ScepterProtocol
@testable import ScepterControl

@Suite("Audit retention: SCEPTER_AUDIT_RETENTION and the pruner", .timeLimit(.minutes(5)))
struct AuditPrunerTests {
    static func retention(_ value: String?) -> (AuditRetention, [ConfigurationProblem]) {
        var settings = Settings(environment: value.map { [AuditRetention.variable: $0] } ?? [:])
        let retention = AuditRetention.load(&settings)
        return (retention, settings.problems)
    }

    @Test("400 days by default; 0 keeps events forever; a day or more is taken")
    func settingValues() {
        #expect(Self.retention(nil) == (AuditRetention(period: .seconds(400 * 86_400)), []))
        #expect(Self.retention("0") == (.forever, []))
        #expect(Self.retention("0d") == (.forever, []))
        #expect(Self.retention("24h") == (AuditRetention(period: .seconds(86_400)), []))
        #expect(Self.retention("730d") == (AuditRetention(period: .seconds(730 * 86_400)), []))
    }

    @Test("Under a day, or not a duration, is refused naming the variable", arguments: ["23h", "400m", "1s", "forever", "-1d"])
    func refused(_ value: String) {
        let problems = Self.retention(value).1
        #expect(problems.map(\.variable) == ["SCEPTER_AUDIT_RETENTION"], "\(problems)")
    }

    /// Six events a day apart, the newest `newestAge` days old; the retention is 2 days.
    static func pruner(
        batchSize: Int, maxBatches: Int, lease: any ClusterLease = ProcessLease()
    ) async throws -> (AuditPruner, SQLiteStore, ControlMetrics) {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        let now = ControlStoreContract.t0
        for age in 0..<6 {
            try await store.insertAudit(ControlStoreContract.event(id: "age-\(age)d", at: -Double(age) * 86_400 - 1))
        }
        let metrics = ControlMetrics()
        let pruner = AuditPruner(
            store: store, lease: lease, retention: .seconds(2 * 86_400), batchSize: batchSize, maxBatchesPerRound: maxBatches,
            metrics: metrics, logger: ControlFixtures.logger, now: { now })
        return (pruner, store, metrics)
    }

    static func pruned(_ metrics: ControlMetrics) -> String? {
        String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n")
            .first { $0.hasPrefix("scepter_audit_events_pruned_total ") }.map(String.init)
    }

    @Test("A round deletes what is older than the retention in batches, and counts it")
    func roundDeletesInBatches() async throws {
        let (pruner, store, metrics) = try await Self.pruner(batchSize: 2, maxBatches: 10)
        #expect(Self.pruned(metrics) == "scepter_audit_events_pruned_total 0", "the counter exists before the first deletion")
        #expect(await pruner.pruneOnce() == AuditPruner.Round(deleted: 4, more: false))
        #expect(try await store.auditEvents(AuditQuery()).map(\.id) == ["age-0d", "age-1d"])
        #expect(Self.pruned(metrics) == "scepter_audit_events_pruned_total 4")
        #expect(await pruner.pruneOnce() == AuditPruner.Round(deleted: 0, more: false))
        try await store.close()
    }

    @Test("A round stops at its batch limit and says more remain")
    func roundIsBounded() async throws {
        let (pruner, store, _) = try await Self.pruner(batchSize: 1, maxBatches: 3)
        #expect(await pruner.pruneOnce() == AuditPruner.Round(deleted: 3, more: true))
        #expect(await pruner.pruneOnce() == AuditPruner.Round(deleted: 1, more: false))
        try await store.close()
    }

    struct HeldElsewhere: ClusterLease {
        func withLease(_ name: String, ttl: Duration, _ body: () async -> Void) async -> Bool { false }
    }

    @Test("While another replica holds the lease nothing is deleted")
    func leaseHeldElsewhere() async throws {
        let (pruner, store, _) = try await Self.pruner(batchSize: 10, maxBatches: 10, lease: HeldElsewhere())
        #expect(await pruner.pruneOnce() == nil)
        #expect(try await store.auditEvents(AuditQuery()).count == 6)
        try await store.close()
    }

    @Test("run() prunes at start, then waits for the next round")
    func runPrunesAtStart() async throws {
        let (pruner, store, _) = try await Self.pruner(batchSize: 10_000, maxBatches: 100)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pruner.run() }
            let deadline = ContinuousClock.now + .seconds(20)
            while try await store.auditEvents(AuditQuery()).count > 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
        #expect(try await store.auditEvents(AuditQuery()).count == 2)
        try await store.close()
    }
}
