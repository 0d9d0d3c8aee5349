import Foundation
import ScepterRedis
import ScepterProtocol

/// The state store of a cluster: replay keys and per-device sliding windows in
/// Redis, shared by every edge (SPEC §5.1 gates 7 and 8, §7).
///
/// Each admission is ONE Lua script, so the check and the record are atomic
/// across edges: two edges cannot both admit one challenge, nor a device's
/// admission over its limit. Keys, under `keyPrefix` (default `scepter:`):
/// - `replay:<replayKey>`: a hash {use, expires}, with PEXPIRE =
///   replayTTL. `expires` is the end of the validity window on the edges'
///   clock (`Admission.now`), so expiry follows the injected clock exactly;
///   the Redis TTL only reclaims the memory.
/// - `window:<deviceKey>`: a sorted set of admission times (ms since 1970,
///   each with a unique member), trimmed to the window on every admission,
///   holding at most `rateLimit` entries, with PEXPIRE = the window.
///
/// A rate-limited request does not consume its challenge. Redis errors and
/// timeouts throw (the edge answers 503). Both keys of one admission must live
/// on one server: Redis Cluster is not supported.
package final class RedisStateStore: StateStore {
    private let client: RedisClient
    /// Prepended to every key; tests use one of their own.
    package let keyPrefix: String
    /// How long `isHealthy` waits for PONG.
    package let healthTimeout: Duration

    /// - Parameters:
    ///   - client: shared with other users of Redis on this edge; not closed by the store.
    ///   - healthTimeout: bound on the readiness PING (default 1 s).
    package init(client: RedisClient, keyPrefix: String = "scepter:", healthTimeout: Duration = .seconds(1)) {
        self.client = client
        self.keyPrefix = keyPrefix
        self.healthTimeout = healthTimeout
    }

    /// KEYS[1] replay key, KEYS[2] device window (absent: no rate limit).
    /// ARGV: use (profile, transaction and CSR), now, replay expiry, replay TTL, window start (an
    /// admission at or before it has left the window), window length, limit,
    /// window member. Times and durations in milliseconds.
    static let admissionScript = RedisScript(
        """
        local replay = redis.call('HMGET', KEYS[1], 'use', 'expires')
        if replay[1] and replay[2] and tonumber(replay[2]) > tonumber(ARGV[2]) then
          if replay[1] == ARGV[1] then return 'retransmission' end
          return 'replay'
        end
        local limit = tonumber(ARGV[7])
        if KEYS[2] and limit > 0 then
          redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
          if redis.call('ZCARD', KEYS[2]) >= limit then return 'rate_limited' end
          redis.call('ZADD', KEYS[2], ARGV[2], ARGV[8])
          redis.call('PEXPIRE', KEYS[2], ARGV[6])
        end
        redis.call('HSET', KEYS[1], 'use', ARGV[1], 'expires', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 'admitted'
        """)

    package func admit(_ admission: Admission) async throws -> AdmissionResult {
        let now = Int64((admission.now.timeIntervalSince1970 * 1000).rounded())
        let replayTTL = max(admission.replayTTL.wholeMilliseconds, 1)
        let window = max(admission.window.wholeMilliseconds, 1)
        var keys: [any RedisArgument] = [replayKey(admission.replayKey)]
        if let device = admission.deviceKey { keys.append(windowKey(device)) }
        let arguments: [any RedisArgument] = [
            admission.use, now, now + replayTTL, replayTTL, now - window, window, admission.rateLimit,
            "\(now):\(SystemRandom.identifier())",
        ]
        let reply = try await client.eval(Self.admissionScript, keys: keys, arguments: arguments)
        switch reply.string {
        case "admitted": return .admitted
        case "retransmission": return .retransmission
        case "replay": return .replay
        case "rate_limited": return .rateLimited
        default: throw RedisError(.protocolError, "the admission script answered \(reply)")
        }
    }

    /// KEYS[1] bucket; ARGV: capacity, refill per millisecond, now (ms).
    /// Returns 0 when a token was taken, else the milliseconds until one is.
    static let bucketScript = RedisScript(
        """
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local now = tonumber(ARGV[3])
        local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(stored[1]) or capacity
        local at = tonumber(stored[2]) or now
        tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
        if tokens < 1 then return math.ceil((1 - tokens) / rate) end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
        return 0
        """)

    package func take(_ bucket: String, capacity: Int, now: Date) async throws -> Duration? {
        let milliseconds = Int64((now.timeIntervalSince1970 * 1000).rounded())
        let perMillisecond = Double(capacity) / 60_000
        let reply = try await client.eval(
            Self.bucketScript, keys: ["\(keyPrefix)bucket:\(bucket)"], arguments: [capacity, "\(perMillisecond)", milliseconds])
        guard let wait = reply.integer else { throw RedisError(.protocolError, "the bucket script answered \(reply)") }
        return wait == 0 ? nil : .milliseconds(wait)
    }

    /// nil when PING is answered within `healthTimeout`; otherwise the
    /// error (a refused connection, a server that may evict keys, ...).
    package func problem() async -> String? {
        await client.problem(timeout: healthTimeout)
    }

    func replayKey(_ key: String) -> String { "\(keyPrefix)replay:\(key)" }
    func windowKey(_ device: String) -> String { "\(keyPrefix)window:\(device)" }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    fileprivate var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
