import Logging
import ScepterProtocol
import ScepterRedis

/// Where control-plane replicas note the transactions they are issuing, so a
/// CertPoll that reaches another replica before the commit answers PENDING
/// rather than "unknown transaction". Best effort: when the registry cannot
/// be reached, issuance goes on and only cross-replica polls lose the hint.
package protocol InFlightRegistry: Sendable {
    func begin(profile: String, transactionID: String) async
    func end(profile: String, transactionID: String) async
    func isInFlight(profile: String, transactionID: String) async -> Bool
}

/// The registry in Redis: `scepter:inflight:<profile>:<transactionID>`, set
/// with a TTL (a replica that dies mid-issuance stops claiming it after `ttl`).
package struct RedisInFlightRegistry: InFlightRegistry {
    let client: RedisClient
    let replicaID: String
    let ttl: Duration
    let logger: Logger

    package init(client: RedisClient, replicaID: String, ttl: Duration = .seconds(120), logger: Logger) {
        self.client = client
        self.replicaID = replicaID
        self.ttl = ttl
        self.logger = logger
    }

    static func key(_ profile: String, _ transactionID: String) -> String { "scepter:inflight:\(profile):\(transactionID)" }

    package func begin(profile: String, transactionID: String) async {
        do {
            _ = try await client.send(["SET", Self.key(profile, transactionID), replicaID, "PX", Int(ttl.timeInterval * 1000)])
        } catch {
            logger.debug("could not note an issuance in flight", metadata: ["error": "\(error)"])
        }
    }

    package func end(profile: String, transactionID: String) async {
        _ = try? await client.send(["DEL", Self.key(profile, transactionID)])
    }

    package func isInFlight(profile: String, transactionID: String) async -> Bool {
        ((try? await client.send(["EXISTS", Self.key(profile, transactionID)]))?.integer ?? 0) > 0
    }
}
