import Foundation
import ScepterProtocol
import ScepterRedis

/// Writes audit events to a Redis stream (default `scepter:audit`), from which
/// the control plane copies them into its database (SPEC §7).
///
/// Each event is one entry with two fields: `id` (the event's id, for
/// idempotent inserts) and `event` (`AuditEvent.jsonEncoded()`). `record` returns once Redis acknowledged the `XADD`, so the event
/// survives the edge crashing right after answering; it throws otherwise
/// (the edge then answers 503). The stream is capped near `maxLength`
/// entries (`MAXLEN ~`): the consumer must keep up within that bound.
package struct RedisAuditSink: AuditSink {
    private let client: RedisClient
    package let stream: String
    package let maxLength: Int

    package init(client: RedisClient, stream: String = "scepter:audit", maxLength: Int = 1_000_000) {
        self.client = client
        self.stream = stream
        self.maxLength = maxLength
    }

    package func record(_ event: AuditEvent) async throws {
        let json = try event.jsonEncoded()
        _ = try await client.send(["XADD", stream, "MAXLEN", "~", maxLength, "*", "id", event.id, "event", json])
    }
}
