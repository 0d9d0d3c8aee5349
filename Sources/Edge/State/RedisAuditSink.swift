import Foundation
import ScepterProtocol
import ScepterRedis

/// Writes audit events to a Redis stream (default `scepter:audit`), from which
/// the control plane copies them into its database (SPEC §7).
///
/// Each event is one entry with two fields: `id` (the event's id, for
/// idempotent inserts) and `event` (`AuditEvent.jsonEncoded()`). `record`
/// returns once Redis acknowledged it, so the event survives the edge
/// crashing right after answering; it throws otherwise (the edge then
/// answers 503).
///
/// Nothing is ever trimmed: the control plane deletes each entry once it is
/// copied, so the stream's length is the backlog. When the backlog reaches
/// `maxBacklog` (the control plane or its database down for long) the sink
/// refuses new events instead of dropping old ones, and the edge answers
/// 503 until the backlog drains: no audit record is lost to a cap.
package struct RedisAuditSink: AuditSink {
    private let client: RedisClient
    package let stream: String
    package let maxBacklog: Int

    /// KEYS[1] stream; ARGV: backlog limit, event id, event JSON.
    static let appendScript = RedisScript(
        """
        if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
          return redis.error_reply('BACKLOG the audit stream holds ' .. ARGV[1] .. ' events the control plane has not copied yet')
        end
        return redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'event', ARGV[3])
        """)

    package init(client: RedisClient, stream: String = AuditStream.name, maxBacklog: Int = AuditStream.maxBacklog) {
        self.client = client
        self.stream = stream
        self.maxBacklog = maxBacklog
    }

    package func record(_ event: AuditEvent) async throws {
        let json = try event.jsonEncoded()
        _ = try await client.eval(Self.appendScript, keys: [stream], arguments: [maxBacklog, event.id, json])
    }
}
