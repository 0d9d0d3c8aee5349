import Foundation
import Testing
import ScepterRedis
import ScepterTesting

/// A Redis that may evict keys when full is refused at connection: replay
/// records and audit events not yet copied must not vanish silently.
@Suite(.timeLimit(.minutes(1)))
struct RedisEvictionPolicyTests {
    @Test func readsINFOMemoryAndRefusesOnlyALimitWithAnEvictingPolicy() throws {
        let info = RedisValue.bulk(Array("# Memory\r\nused_memory:1008552\r\nmaxmemory:67108864\r\nmaxmemory_human:64.00M\r\nmaxmemory_policy:volatile-lru\r\n".utf8))
        let policy = try #require(EvictionPolicy(info: info))
        #expect(policy == EvictionPolicy(maxMemory: 67_108_864, policy: "volatile-lru"))
        #expect(policy.refusal?.contains("maxmemory 67108864 bytes, maxmemory-policy volatile-lru") == true)
        #expect(policy.refusal?.contains("Set maxmemory-policy noeviction") == true)
        #expect(EvictionPolicy(maxMemory: 0, policy: "allkeys-lru").refusal == nil, "no limit: nothing is ever evicted")
        #expect(EvictionPolicy(maxMemory: 67_108_864, policy: "noeviction").refusal == nil)
        #expect(EvictionPolicy(info: .error("NOPERM this user has no permissions to run the 'info' command")) == nil)
        #expect(EvictionPolicy(info: .bulk(Array("# Memory\r\nused_memory:1\r\n".utf8))) == nil)
    }

    @Test func aServerThatMayEvictIsRefusedNamingThePolicyAndTheFix() async throws {
        let server = try await RedisServerProcess.start(options: ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
        try await withClient(url: server.url) { client in
            await #expect { try await client.ping() } throws: { error in
                (error as? RedisError)?.matches(.connectionFailed, "maxmemory-policy allkeys-lru") == true
            }
            let problem = await client.problem(timeout: .seconds(5))
            #expect(problem?.contains("Set maxmemory-policy noeviction") == true, "\(problem ?? "nil")")
        }
        await server.stop()
    }

    @Test func aServerThatNeverEvictsIsUsed() async throws {
        for options in [["--maxmemory", "64mb", "--maxmemory-policy", "noeviction"], ["--maxmemory", "0", "--maxmemory-policy", "allkeys-lru"]] {
            let server = try await RedisServerProcess.start(options: options)
            try await withClient(url: server.url) { client in
                try await client.ping()
                #expect(await client.problem(timeout: .seconds(5)) == nil)
            }
            await server.stop()
        }
    }

    @Test func anACLWithoutINFOIsNotRefused() async throws {
        let server = try await RedisServerProcess.start(options: [
            "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru",
            "--user", "default", "off", "--user", "scepter", "on", ">cart-horse", "~*", "&*", "+@all", "-info",
        ])
        try await withClient(url: "redis://scepter:cart-horse@127.0.0.1:\(server.port)/0") { client in
            try await client.ping()
        }
        await server.stop()
    }
}
