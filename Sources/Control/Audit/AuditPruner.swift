import Foundation
import Logging
import ServiceLifecycle
import ScepterProtocol

/// Deletes audit events older than `SCEPTER_AUDIT_RETENTION`, at start and
/// then every `interval`, one replica at a time cluster-wide. Each statement
/// deletes at most `batchSize` rows, so none holds the table for long while
/// edges' events keep arriving. Only `audit_events` is pruned: the
/// certificate inventory and revocations stay.
package struct AuditPruner: Service {
    let store: any ControlStore
    let lease: any ClusterLease
    let retention: Duration
    let interval: Duration
    let batchSize: Int
    let maxBatchesPerRound: Int
    let metrics: ControlMetrics?
    let logger: Logger
    let now: @Sendable () -> Date

    /// A round longer than this many batches gives the lease back and goes on
    /// in the next round at once: the lease's lifetime stays bounded however
    /// large the first pruning of an old database is.
    static let defaultMaxBatchesPerRound = 100
    /// The longest one batch may take (PostgreSQL's statement timeout is 10 s), for the lease's lifetime.
    static let batchBound = Duration.seconds(15)
    static let leaseName = "audit-retention"

    package init(
        store: any ControlStore, lease: any ClusterLease, retention: Duration, interval: Duration = .seconds(3600),
        batchSize: Int = 10_000, maxBatchesPerRound: Int = defaultMaxBatchesPerRound, metrics: ControlMetrics?, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.lease = lease
        self.retention = retention
        self.interval = interval
        self.batchSize = max(1, batchSize)
        self.maxBatchesPerRound = max(1, maxBatchesPerRound)
        self.metrics = metrics
        self.logger = logger
        self.now = now
        metrics?.recordPruned(0)
    }

    /// The pruner for `retention`; none when events are kept forever.
    package static func services(
        retention: AuditRetention, store: any ControlStore, lease: any ClusterLease, metrics: ControlMetrics, logger: Logger
    ) -> [any Service] {
        guard let period = retention.period else { return [] }
        return [AuditPruner(store: store, lease: lease, retention: period, metrics: metrics, logger: logger)]
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A round cut short by its batch limit goes on at once; otherwise wait for the next hour.
            if let round = await pruneOnce(), round.more { continue }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// What one round did.
    package struct Round: Sendable, Hashable {
        package var deleted: Int
        /// The batch limit stopped the round while old events remain.
        package var more: Bool
    }

    /// One round; nil when another replica holds the lease.
    @discardableResult
    package func pruneOnce() async -> Round? {
        let ttl = Self.batchBound * maxBatchesPerRound + .seconds(60)
        var round: Round?
        let ran = await lease.withLease(Self.leaseName, ttl: ttl) { round = await prune() }
        if !ran { logger.debug("audit retention round skipped: another replica holds the lease") }
        return round
    }

    private func prune() async -> Round {
        let cutoff = now().addingTimeInterval(-TimeInterval(retention.components.seconds))
        var metadata: Logger.Metadata = [
            "retention": "\(DurationText.format(retention))", "before": "\(cutoff.formatted(.iso8601))",
        ]
        var round = Round(deleted: 0, more: false)
        defer { metrics?.recordPruned(round.deleted) }
        for batch in 1...maxBatchesPerRound {
            do {
                let deleted = try await store.deleteAuditEvents(before: cutoff, limit: batchSize)
                round.deleted += deleted
                if deleted < batchSize { break }
            } catch {
                metadata["deleted"] = "\(round.deleted)"
                metadata["error"] = "\(error)"
                logger.error("audit events not pruned; the next round retries", metadata: metadata)
                return round
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if batch == maxBatchesPerRound { round.more = true }
        }
        metadata["deleted"] = "\(round.deleted)"
        metadata["more"] = "\(round.more)"
        logger.notice("audit events older than the retention pruned", metadata: metadata)
        return round
    }
}
