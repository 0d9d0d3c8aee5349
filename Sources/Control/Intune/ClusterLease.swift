import Logging
import ScepterRedis

/// A lease only one control-plane replica holds at a time, for work that
/// must not run twice at once (the Intune revocation download).
package protocol ClusterLease: Sendable {
    /// Runs `body` if the lease `name` was free; false when another replica
    /// holds it or the lease cannot be taken now.
    func withLease(_ name: String, ttl: Duration, _ body: () async -> Void) async -> Bool
}

/// One process (embedded mode): nothing to share.
package struct ProcessLease: ClusterLease {
    package init() {}

    package func withLease(_ name: String, ttl: Duration, _ body: () async -> Void) async -> Bool {
        await body()
        return true
    }
}

/// `SET key owner NX PX ttl`, released only by its owner (a Lua
/// compare-and-delete), so a replica whose lease expired mid-work cannot free
/// the next holder's. `ttl` must exceed the work's longest run.
package struct RedisLease: ClusterLease {
    let client: RedisClient
    let owner: String
    let logger: Logger

    package init(client: RedisClient, owner: String, logger: Logger) {
        self.client = client
        self.owner = owner
        self.logger = logger
    }

    static let release = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    package func withLease(_ name: String, ttl: Duration, _ body: () async -> Void) async -> Bool {
        let key = "scepter:lease:\(name)"
        do {
            let milliseconds = max(1, ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
            let reply = try await client.send(["SET", key, owner, "NX", "PX", Int(milliseconds)])
            guard reply.string == "OK" else { return false }
        } catch {
            logger.warning("lease not taken: Redis (SCEPTER_REDIS_URL) unreachable", metadata: ["lease": "\(name)", "error": "\(error)"])
            return false
        }
        await body()
        _ = try? await client.eval(Self.release, keys: [key], arguments: [owner])
        return true
    }
}
