import Foundation
import Testing
import ScepterRedis
import ScepterTesting

/// What a connection checks of the server it reaches: a Redis that may
/// evict keys when full (replay records and audit events not yet copied
/// must not vanish silently) and a replica (it refuses every write) are
/// refused; a connection that meets READONLY is dropped and made again.
@Suite(.timeLimit(.minutes(1)))
struct RedisServerChecksTests {
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

    @Test func readsTheReplicationRole() {
        let replica = ReplicationRole(info: .bulk(Array("# Replication\r\nrole:slave\r\nmaster_host:10.0.0.5\r\nmaster_port:6379\r\n".utf8)))
        #expect(replica?.refusal?.contains("the server is a replica of 10.0.0.5:6379, which refuses writes") == true)
        #expect(replica?.refusal?.contains("SCEPTER_REDIS_URL must name the primary") == true)
        #expect(ReplicationRole(info: .bulk(Array("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n".utf8)))?.refusal == nil)
        #expect(ReplicationRole(info: .error("NOPERM")) == nil)
    }

    @Test func aReplicaIsRefusedAndAPrimaryThatBecomesOneIsLeftAtItsFirstWrite() async throws {
        let primary = try await RedisServerProcess.start()
        let other = try await RedisServerProcess.start()
        // A URL that names a replica.
        let replica = try await RedisServerProcess.start(options: ["--replicaof", "127.0.0.1", "\(primary.port)"])
        try await withClient(url: replica.url) { client in
            await #expect { try await client.ping() } throws: { error in
                (error as? RedisError)?.matches(.connectionFailed, "the server is a replica of 127.0.0.1:\(primary.port)") == true
            }
        }
        // A primary demoted under a live connection (a failover): the first write meets READONLY, the
        // connection is dropped, and the next command's handshake finds the replica.
        try await withClient(url: other.url) { client in
            #expect(try await client.send(["SET", "k", "v"]) == .simple("OK"))
            let demote = try await Shell.run("/usr/bin/redis-cli", ["-p", "\(other.port)", "REPLICAOF", "127.0.0.1", "\(primary.port)"])
            #expect(demote.status == 0, "\(demote.stderr)")
            await #expect { try await client.send(["SET", "k", "w"]) } throws: { error in
                (error as? RedisError)?.matches(.server, "READONLY") == true
            }
            await #expect { try await client.ping() } throws: { error in
                (error as? RedisError)?.matches(.connectionFailed, "the server is a replica") == true
            }
            // Promoted again, it is used again.
            let promote = try await Shell.run("/usr/bin/redis-cli", ["-p", "\(other.port)", "REPLICAOF", "NO", "ONE"])
            #expect(promote.status == 0, "\(promote.stderr)")
            #expect(try await client.send(["SET", "k", "x"]) == .simple("OK"))
        }
        await replica.stop()
        await other.stop()
        await primary.stop()
    }

    @Test func aPolicyChangedUnderALiveConnectionIsSeenAtTheNextCheck() async throws {
        let server = try await RedisServerProcess.start()
        var configuration = try RedisClient.Configuration(url: server.url)
        configuration.serverCheckInterval = .milliseconds(200)
        let client = RedisClient(configuration: configuration, logger: testLogger)
        #expect(try await client.send(["SET", "k", "v"]) == .simple("OK"))
        // As a managed service's console does: no reconnection, the connection stays.
        let change = try await Shell.run(
            "/usr/bin/redis-cli", ["-p", "\(server.port)", "CONFIG", "SET", "maxmemory", "64mb", "maxmemory-policy", "allkeys-lru"])
        #expect(change.status == 0, "\(change.stderr)")
        // Commands go on until the next check (200 ms), which refuses the server.
        var refusal: RedisError?
        let deadline = ContinuousClock.now + .seconds(5)
        while refusal == nil, ContinuousClock.now < deadline {
            do {
                _ = try await client.send(["GET", "k"])
                try await Task.sleep(for: .milliseconds(20))
            } catch let error as RedisError {
                refusal = error
            }
        }
        #expect(refusal?.matches(.connectionFailed, "maxmemory-policy allkeys-lru") == true, "\(String(describing: refusal))")
        let back = try await Shell.run("/usr/bin/redis-cli", ["-p", "\(server.port)", "CONFIG", "SET", "maxmemory-policy", "noeviction"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try await client.send(["GET", "k"]) == .bulk(Array("v".utf8)))
        await client.close()
        await server.stop()
    }
}
