import Foundation
import Logging
import ScepterProtocol
import ScepterRedis
import ServiceLifecycle

/// Copies the edges' audit events from the Redis stream into the store
/// (SPEC §7): a consumer group, each entry acknowledged only after its row is
/// committed, inserts idempotent by event id.
///
/// Each round reads, in order: this consumer's own unacknowledged entries
/// (at start and after a failed round: a failed insert or a restart under the
/// same name), entries other consumers left pending for `claimAfter` (a
/// replica that died; looked for every `claimInterval`), then new entries
/// (blocking up to `block`). While the database is down nothing is
/// acknowledged; the entries wait in the stream and are retried with backoff.
/// An entry that is not an audit event at all is copied to `deadLetterStream`
/// and acknowledged, so it cannot stall the stream.
///
/// A round that read less than a full batch is followed by a pause of
/// `batchWindow`, so that at a moderate arrival rate events are copied
/// several to a transaction and an acknowledgement rather than one round
/// (two Redis commands and a commit, with the reads above skipped) each.
package final class AuditStreamConsumer: Service {
    package let stream: String
    package let group: String
    package let consumer: String
    package let deadLetterStream: String
    let client: RedisClient
    let store: any ControlStore
    let batchSize: Int
    let block: Duration
    let batchWindow: Duration
    let claimAfter: Duration
    let claimInterval: Duration
    let logger: Logger
    let metrics: ControlMetrics?

    /// How often `scepter_audit_stream_backlog` is read (`XLEN`) while rounds succeed.
    static let backlogInterval = Duration.seconds(1)

    /// - Parameter client: a connection of its own: `XREADGROUP … BLOCK` holds it while it waits.
    package init(
        client: RedisClient, store: any ControlStore, consumer: String, stream: String = AuditStream.name,
        group: String = "scepter-control", batchSize: Int = 200, block: Duration = .seconds(1),
        batchWindow: Duration = .milliseconds(50), claimAfter: Duration = .seconds(30), claimInterval: Duration = .seconds(5),
        metrics: ControlMetrics? = nil, logger: Logger
    ) {
        self.client = client
        self.store = store
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self.deadLetterStream = stream + ":dead"
        self.batchSize = batchSize
        self.block = block
        self.batchWindow = batchWindow
        self.claimAfter = claimAfter
        self.claimInterval = claimInterval
        self.metrics = metrics
        self.logger = logger
        metrics?.recordStreamCounters()
    }

    /// Which of a round's reads can find something, so the others are skipped.
    struct Pace {
        /// Entries this consumer read but did not acknowledge may exist: at
        /// start (a restart under the same name), after a failed round, and
        /// while reading them returns full batches.
        var ownPending = true
        /// When other consumers' stale entries are next looked for.
        var nextClaim: ContinuousClock.Instant
        /// When the backlog gauge is next read.
        var nextBacklog: ContinuousClock.Instant

        init(now: ContinuousClock.Instant) {
            nextClaim = now
            nextBacklog = now
        }
    }

    struct Entry {
        var id: String
        var fields: [String: [UInt8]]?
    }

    package func run() async throws {
        var backoff = Duration.milliseconds(200)
        var failing = false
        var groupReady = false
        var pace = Pace(now: .now)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !groupReady {
                    try await createGroup()
                    groupReady = true
                }
                let read = try await round(&pace)
                if ContinuousClock.now >= pace.nextBacklog {
                    await recordBacklog()
                    pace.nextBacklog = .now + Self.backlogInterval
                }
                if failing {
                    logger.notice("audit stream consumer recovered", metadata: ["read": "\(read)"])
                    failing = false
                }
                backoff = .milliseconds(200)
                if read > 0, read < batchSize { try? await Task.sleep(for: batchWindow) }
            } catch {
                pace.ownPending = true
                metrics?.recordConsumerFailure()
                if !failing {
                    logger.error(
                        "audit stream consumer cannot copy events; they stay in the stream and are retried",
                        metadata: ["error": "\(error)"])
                    failing = true
                }
                if let redisError = error as? RedisError, redisError.message.contains("NOGROUP") { groupReady = false }
                // The backlog grows while the database is down: keep the gauge true then too.
                await recordBacklog()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        await client.close()
    }

    /// `XLEN`: the events no consumer has copied yet, for the backlog alert.
    private func recordBacklog() async {
        if let length = try? await client.send(["XLEN", stream]).integer {
            metrics?.recordBacklog(Int(length), limit: AuditStream.maxBacklog)
        }
    }

    /// One round; returns how many entries it read (all copied, dead-lettered
    /// or found lost, and acknowledged). A round that throws acknowledged nothing
    /// of what it read: the caller sets `pace.ownPending` so the next round reads them again.
    @discardableResult
    func round(_ pace: inout Pace, now: ContinuousClock.Instant = .now) async throws -> Int {
        var entries: [Entry] = []
        if pace.ownPending {
            entries = try await read(from: "0", block: nil)
            pace.ownPending = entries.count >= batchSize
        }
        if entries.isEmpty, now >= pace.nextClaim {
            entries = try await claimStale()
            // A full batch: there may be more, so look again next round.
            pace.nextClaim = entries.count >= batchSize ? now : now + claimInterval
        }
        if entries.isEmpty { entries = try await read(from: ">", block: block) }
        try await copy(entries)
        return entries.count
    }

    /// `XGROUP CREATE … 0 MKSTREAM`: from the start of the stream, so events
    /// written before the control plane first ran are not lost.
    func createGroup() async throws {
        do {
            _ = try await client.send(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"])
            logger.info("created the audit stream consumer group", metadata: ["stream": "\(stream)", "group": "\(group)"])
        } catch let error as RedisError where error.message.hasPrefix("BUSYGROUP") {
            // Another replica or an earlier run created it.
        }
    }

    private func read(from id: String, block: Duration?) async throws -> [Entry] {
        var command: [any RedisArgument] = ["XREADGROUP", "GROUP", group, consumer, "COUNT", batchSize]
        var timeout: Duration?
        if let block {
            command += ["BLOCK", Int(block.timeInterval * 1000)]
            timeout = block + .seconds(5)
        }
        command += ["STREAMS", stream, id]
        let reply = try await client.send(command, timeout: timeout)
        // [[stream, [[id, [field, value, …]], …]]] or null when BLOCK timed out.
        guard let streams = reply.array, let first = streams.first?.array, first.count == 2, let entries = first[1].array else {
            return []
        }
        return entries.compactMap(Self.entry)
    }

    /// `XAUTOCLAIM`: entries another consumer read but never acknowledged.
    private func claimStale() async throws -> [Entry] {
        let reply = try await client.send([
            "XAUTOCLAIM", stream, group, consumer, Int(claimAfter.timeInterval * 1000), "0-0", "COUNT", batchSize,
        ])
        guard let parts = reply.array, parts.count >= 2, let entries = parts[1].array else { return [] }
        let claimed = entries.compactMap(Self.entry)
        if !claimed.isEmpty {
            logger.notice("claimed audit events another consumer left unacknowledged", metadata: ["count": "\(claimed.count)"])
        }
        return claimed
    }

    static func entry(_ value: RedisValue) -> Entry? {
        guard let parts = value.array, parts.count == 2, let id = parts[0].string else { return nil }
        // A pending entry deleted from the stream (by hand: Scepter never trims it) comes back without fields.
        guard let flat = parts[1].array else { return Entry(id: id, fields: nil) }
        var fields: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, let value = flat[index + 1].bytes { fields[name] = value }
            index += 2
        }
        return Entry(id: id, fields: fields)
    }

    /// Inserts the batch's events in one transaction, then acknowledges and
    /// deletes the batch in one command. A failed insert throws before the
    /// acknowledgement: those entries are read again.
    private func copy(_ entries: [Entry]) async throws {
        guard !entries.isEmpty else { return }
        var events: [AuditEvent] = []
        for entry in entries {
            guard let fields = entry.fields else {
                metrics?.recordLost()
                // Deleted from the stream before it was copied (XDEL/XTRIM by hand, or Redis lost data).
                logger.error(
                    "an unacknowledged audit event was deleted from the stream before it was copied; it is lost (someone trimmed the stream, or Redis lost data without AOF)",
                    metadata: ["entry": "\(entry.id)", "stream": "\(stream)"])
                continue
            }
            guard let json = fields["event"], let event = try? AuditEvent(json: json) else {
                try await deadLetter(entry)
                continue
            }
            events.append(event)
        }
        try await store.insertAudit(events)
        // Acknowledged and deleted: the stream's length is the backlog the edges bound.
        _ = try await client.eval(Self.acknowledgeScript, keys: [stream], arguments: [group] + entries.map(\.id))
        if !events.isEmpty { metrics?.recordCopied(events.count) }
    }

    /// `XACK` then `XDEL` of the same ids, in one round trip and atomically:
    /// KEYS[1] the stream, ARGV[1] the group, the rest the entry ids.
    static let acknowledgeScript = RedisScript(
        """
        local ids = {unpack(ARGV, 2)}
        redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
        return redis.call('XDEL', KEYS[1], unpack(ids))
        """)

    private func deadLetter(_ entry: Entry) async throws {
        logger.error(
            "audit stream entry is not an audit event; moved to the dead-letter stream",
            metadata: ["entry": "\(entry.id)", "deadLetterStream": "\(deadLetterStream)"])
        var command: [any RedisArgument] = ["XADD", deadLetterStream, "*", "source-id", entry.id]
        for (name, value) in (entry.fields ?? [:]).sorted(by: { $0.key < $1.key }) { command += [name, value] }
        _ = try await client.send(command)
    }
}
