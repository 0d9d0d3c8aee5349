/// Whether a Redis server may evict keys, from its `INFO memory`.
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

    /// Reads the reply to `INFO memory`; nil when it is not one (an error
    /// reply, say, from an ACL without `+info`: then nothing can be known).
    package init?(info: RedisValue) {
        guard let text = info.string else { return nil }
        var fields: [Substring: Substring] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
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
