/// Whether a Redis server may evict keys, from its `INFO`.
///
/// Scepter keeps in Redis what must not vanish while it is needed: the
/// replay records of challenges (their loss lets a challenge be used
/// again), the per-device windows, and audit events until the control plane
/// has copied them (Redis is then their only copy). A server with a memory
/// limit (`maxmemory` above 0) and any policy but `noeviction` drops keys
/// when full, silently. Managed services often default to `volatile-lru`,
/// which evicts exactly the keys with a time to live: the replay records.
/// With `noeviction` a full server refuses writes instead, which Scepter
/// answers with 503.
package struct EvictionPolicy: Sendable, Hashable {
    /// `maxmemory` in bytes; 0: no limit, so nothing is ever evicted.
    package var maxMemory: Int
    /// `maxmemory-policy`, e.g. `noeviction`, `allkeys-lru`.
    package var policy: String

    /// Reads the reply to `INFO` (or `INFO memory`); nil when it is not one
    /// (an error reply, say, from an ACL without `+info`: then nothing can be known).
    package init?(info: RedisValue) {
        let fields = RedisInfo.fields(info)
        guard let policy = fields["maxmemory_policy"], let maxMemory = fields["maxmemory"].flatMap({ Int($0) }) else { return nil }
        self.init(maxMemory: maxMemory, policy: String(policy))
    }

    package init(maxMemory: Int, policy: String) {
        self.maxMemory = maxMemory
        self.policy = policy
    }

    /// Why this server cannot be used, or nil when it never evicts.
    package var refusal: String? {
        guard maxMemory > 0, policy != "noeviction" else { return nil }
        return "the server may evict keys when full (maxmemory \(maxMemory) bytes, maxmemory-policy \(policy)): replay records "
            + "and audit events not yet copied could vanish. Set maxmemory-policy noeviction (a full server then refuses writes, "
            + "answered 503), or maxmemory 0"
    }
}

/// Whether a Redis server is a replica, from its `INFO`. A replica answers
/// reads and PING but refuses every write (`READONLY`): it is what a URL
/// reaches when it names a replica, or an old primary after a failover.
package struct ReplicationRole: Sendable, Hashable {
    /// `role`: `master` or `slave`.
    package var role: String
    /// `master_host:master_port` of a replica.
    package var primary: String?

    /// Reads the reply to `INFO` (or `INFO replication`); nil when it is not one.
    package init?(info: RedisValue) {
        let fields = RedisInfo.fields(info)
        guard let role = fields["role"] else { return nil }
        self.role = String(role)
        primary = fields["master_host"].map { host in "\(host):\(fields["master_port"] ?? "?")" }
    }

    /// Why this server cannot be used, or nil when it is a primary.
    package var refusal: String? {
        guard role == "slave" else { return nil }
        return "the server is a replica\(primary.map { " of \($0)" } ?? ""), which refuses writes: "
            + "SCEPTER_REDIS_URL must name the primary (after a failover, the address that follows it)"
    }
}

/// The `name:value` lines of an `INFO` reply.
enum RedisInfo {
    /// Why the server that sent `info` cannot be used (a replica, or one that
    /// may evict keys), or nil when it can, or when `info` tells nothing.
    static func refusal(_ info: RedisValue) -> String? {
        ReplicationRole(info: info)?.refusal ?? EvictionPolicy(info: info)?.refusal
    }

    static func fields(_ info: RedisValue) -> [Substring: Substring] {
        guard let text = info.string else { return [:] }
        var fields: [Substring: Substring] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        return fields
    }
}
