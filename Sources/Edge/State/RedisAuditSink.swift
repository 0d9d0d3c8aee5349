import Foundation
import ScepterProtocol
import ScepterRedis

/// Writes audit events to a Redis stream (default `scepter:audit`), from which
/// the control plane copies them into its database (SPEC §7).
///
/// Each event is one entry with two fields: `id` (the event's id, for
/// idempotent inserts) and `event` (the event as JSON: `AuditEvent`'s coding
/// keys, `time` in milliseconds since 1970, keys sorted, absent optionals
/// omitted). `record` returns once Redis acknowledged the `XADD`, so the event
/// survives the edge crashing right after answering; it throws otherwise
/// (the edge then answers 503). The stream is capped near `maxLength`
/// entries (`MAXLEN ~`): the consumer must keep up within that bound.
public struct RedisAuditSink: AuditSink {
    private let client: RedisClient
    public let stream: String
    public let maxLength: Int

    public init(client: RedisClient, stream: String = "scepter:audit", maxLength: Int = 1_000_000) {
        self.client = client
        self.stream = stream
        self.maxLength = maxLength
    }

    public func record(_ event: AuditEvent) async throws {
        let json = try Self.encode(event)
        _ = try await client.send(["XADD", stream, "MAXLEN", "~", maxLength, "*", "id", event.id, "event", json])
    }

    /// The `event` field's bytes.
    static func encode(_ event: AuditEvent) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(event))
    }
}
