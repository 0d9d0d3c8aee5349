import Foundation
import Logging
import ScepterRedis
import ScepterTesting
import Testing
@testable import ScepterEdge

/// The in-memory store's scenarios, with the same expectations, against a real
/// Redis; plus what only a shared store has: edges racing, keys expiring.
@Suite("Redis state store: replay and sliding window in one script", .timeLimit(.minutes(5)))
struct RedisStateStoreTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let prefix = TestRedis.uniquePrefix("state")

    func admission(_ key: String, transaction: String, device: String? = "dev|iss", limit: Int = 3, at offset: TimeInterval = 0)
        -> Admission
    {
        Admission(
            replayKey: key, use: transaction, replayTTL: .seconds(3600), deviceKey: device, rateLimit: limit,
            now: start.addingTimeInterval(offset))
    }

    /// A store on a client of its own (one "edge"), closed after `body`.
    func withStore<T>(_ body: (RedisStateStore, RedisClient) async throws -> T) async throws -> T {
        let client = try RedisClient(url: TestRedis.url(), logger: Logger(label: "test"), timeout: .seconds(10))
        do {
            let result = try await body(RedisStateStore(client: client, keyPrefix: prefix), client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    @Test func firstUseIsAdmittedSecondTransactionIsReplaySameTransactionIsRetransmission() async throws {
        try await withStore { store, _ async throws in
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-a")) == .admitted)
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-a", at: 5)) == .retransmission)
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", at: 6)) == .replay)
        }
    }

    @Test func replayKeyExpiresAfterItsTTL() async throws {
        try await withStore { store, _ async throws in
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-a", device: nil)) == .admitted)
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", device: nil, at: 3599)) == .replay)
            #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", device: nil, at: 3601)) == .admitted)
        }
    }

    @Test func fourthEnrollmentOfADeviceIn24HoursIsRateLimitedAndTheWindowSlides() async throws {
        try await withStore { store, _ async throws in
            for index in 0..<3 {
                #expect(try await store.admit(admission("n\(index)", transaction: "t\(index)", at: Double(index) * 3600)) == .admitted)
            }
            #expect(try await store.admit(admission("n3", transaction: "t3", at: 4 * 3600)) == .rateLimited)
            // The first admission leaves the window 24 h after it happened.
            #expect(try await store.admit(admission("n4", transaction: "t4", at: 24 * 3600 + 1)) == .admitted)
            #expect(try await store.admit(admission("n5", transaction: "t5", at: 24 * 3600 + 2)) == .rateLimited)
        }
    }

    @Test func rateLimitZeroDisablesTheWindowAndOtherDevicesAreIndependent() async throws {
        try await withStore { store, _ async throws in
            for index in 0..<10 {
                #expect(try await store.admit(admission("z\(index)", transaction: "tz\(index)", limit: 0)) == .admitted)
            }
            for index in 0..<3 {
                #expect(try await store.admit(admission("a\(index)", transaction: "ta\(index)", device: "a|iss")) == .admitted)
            }
            #expect(try await store.admit(admission("b0", transaction: "tb0", device: "b|iss")) == .admitted)
        }
    }

    @Test func aRateLimitedRequestDoesNotBurnItsChallenge() async throws {
        try await withStore { store, _ async throws in
            for index in 0..<3 { _ = try await store.admit(admission("n\(index)", transaction: "t\(index)")) }
            #expect(try await store.admit(admission("late", transaction: "t-late", at: 10)) == .rateLimited)
            // It left no replay record: the same request is admitted, not a retransmission.
            #expect(try await store.admit(admission("late", transaction: "t-late", device: nil, at: 20)) == .admitted)
            #expect(try await store.admit(admission("late", transaction: "t-late", at: 86_400 + 1)) == .admitted)
        }
    }

    /// Redis' counterpart of the in-memory capacity bound: every key expires,
    /// and a device window never holds more than the limit.
    @Test func memoryIsBoundedByTTLsAndTheLimit() async throws {
        try await withStore { store, client async throws in
            for index in 0..<20 {
                _ = try await store.admit(admission("k\(index)", transaction: "t\(index)", at: Double(index)))
            }
            #expect(try await client.send(["ZCARD", store.windowKey("dev|iss")]) == .integer(3))
            for index in 0..<3 {
                let ttl = try #require(try await client.send(["PTTL", store.replayKey("k\(index)")]).integer)
                #expect(ttl > 0 && ttl <= 3_600_000)
            }
            let windowTTL = try #require(try await client.send(["PTTL", store.windowKey("dev|iss")]).integer)
            #expect(windowTTL > 0 && windowTTL <= 86_400_000)
            // The rate-limited ones stored nothing (-2: no such key).
            #expect(try await client.send(["PTTL", store.replayKey("k19")]) == .integer(-2))
        }
    }

    @Test func concurrentUsesOfOneChallengeAdmitExactlyOne() async throws {
        try await withStore { store, _ async throws in
            let results = await withTaskGroup(of: AdmissionResult?.self) { group in
                for index in 0..<50 {
                    group.addTask { try? await store.admit(admission("shared", transaction: "tx-\(index)", device: nil)) }
                }
                return await group.reduce(into: [AdmissionResult?]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == .admitted }.count == 1)
            #expect(results.filter { $0 == .replay }.count == 49)
        }
    }

    @Test func twoEdgesRacingForOneChallengeAdmitExactlyOne() async throws {
        try await withStore { first, _ async throws in
            try await withStore { second, _ async throws in
                let results = await withTaskGroup(of: AdmissionResult?.self) { group in
                    for index in 0..<50 {
                        let edge = index.isMultiple(of: 2) ? first : second
                        group.addTask { try? await edge.admit(admission("raced", transaction: "tx-\(index)", device: nil)) }
                    }
                    return await group.reduce(into: [AdmissionResult?]()) { $0.append($1) }
                }
                #expect(results.filter { $0 == .admitted }.count == 1)
                #expect(results.filter { $0 == .replay }.count == 49)
            }
        }
    }

    @Test func twoEdgesRacingForOneDeviceAdmitExactlyItsLimit() async throws {
        try await withStore { first, _ async throws in
            try await withStore { second, _ async throws in
                let results = await withTaskGroup(of: AdmissionResult?.self) { group in
                    for index in 0..<20 {
                        let edge = index.isMultiple(of: 2) ? first : second
                        group.addTask { try? await edge.admit(admission("c\(index)", transaction: "tc\(index)")) }
                    }
                    return await group.reduce(into: [AdmissionResult?]()) { $0.append($1) }
                }
                #expect(results.filter { $0 == .admitted }.count == 3)
                #expect(results.filter { $0 == .rateLimited }.count == 17)
            }
        }
    }

    @Test func keysCarryTheReplayTTLAndTheWindowAndRememberTheUse() async throws {
        try await withStore { store, client async throws in
            let short = Admission(
                replayKey: "short", use: "tx-short", replayTTL: .seconds(60), deviceKey: "d|iss",
                rateLimit: 3, window: .seconds(120), now: start)
            #expect(try await store.admit(short) == .admitted)
            let replayTTL = try #require(try await client.send(["PTTL", store.replayKey("short")]).integer)
            #expect(replayTTL > 0 && replayTTL <= 60_000)
            let windowTTL = try #require(try await client.send(["PTTL", store.windowKey("d|iss")]).integer)
            #expect(windowTTL > 60_000 && windowTTL <= 120_000)
            #expect(try await client.send(["HGET", store.replayKey("short"), "use"]) == .bulk(Array("tx-short".utf8)))
        }
    }

    /// The two stores are one contract: random sequences from a seeded
    /// generator, with times in whole milliseconds (what the script keeps),
    /// must get the same answer from Redis as from the in-memory store.
    @Test("Random admissions: Redis answers as the in-memory store does", arguments: [UInt64(1), 2, 3])
    func randomAdmissionsAgreeWithTheInMemoryStore(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let memory = InMemoryStateStore()
        var now = start
        var seen: [AdmissionResult: Int] = [:]
        try await withStore { store, _ async throws in
            for step in 0..<500 {
                // Mostly seconds apart, sometimes hours: keys expire and windows slide.
                let milliseconds = random.next() % 8 == 0 ? random.next() % 30_000_000 : random.next() % 90_000
                now = now.addingTimeInterval(Double(milliseconds) / 1000)
                let admission = Admission(
                    replayKey: "n\(random.next() % 6)", use: "tx-\(random.next() % 3)",
                    replayTTL: .seconds([60, 3600, 7200][Int(random.next() % 3)]),
                    deviceKey: random.next() % 5 == 0 ? nil : "device-\(random.next() % 3)|iss", rateLimit: Int(random.next() % 4), now: now)
                let (redis, inMemory) = (try await store.admit(admission), try await memory.admit(admission))
                guard redis == inMemory else {
                    Issue.record("seed \(seed), step \(step): Redis \(redis), in memory \(inMemory) for \(admission)")
                    return
                }
                seen[redis, default: 0] += 1
            }
        }
        // The sequences reach every answer, or they prove little.
        #expect(seen.count == 4 && seen.values.allSatisfy { $0 >= 10 }, "\(seen)")
    }

    @Test("Random takes from per-source buckets: Redis answers as the in-memory store does, to the millisecond", arguments: [UInt64(1), 2])
    func randomTakesAgreeWithTheInMemoryStore(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let memory = InMemoryStateStore()
        var now = start
        var (taken, refused) = (0, 0)
        try await withStore { store, _ async throws in
            for step in 0..<500 {
                now = now.addingTimeInterval(Double(random.next() % 3_000) / 1000)
                let (bucket, capacity) = ("source-\(random.next() % 3)", [2, 5, 60][Int(random.next() % 3)])
                let redis = try await store.take(bucket, capacity: capacity, now: now)
                let inMemory = try await memory.take(bucket, capacity: capacity, now: now)
                // The two keep tokens in different float forms (Lua's tostring
                // has 14 digits): at a boundary one may ask for a millisecond's wait.
                let agree = switch (redis, inMemory) {
                case (nil, nil): true
                case (let wait?, nil), (nil, let wait?): wait <= .milliseconds(1)
                case (let a?, let b?): a - b <= .milliseconds(1) && b - a <= .milliseconds(1)
                }
                guard agree else {
                    Issue.record("seed \(seed), step \(step): Redis \(String(describing: redis)), in memory \(String(describing: inMemory)) taking from \(bucket) (capacity \(capacity))")
                    return
                }
                if redis == nil { taken += 1 } else { refused += 1 }
            }
        }
        #expect(taken >= 50 && refused >= 50, "taken \(taken), refused \(refused)")
    }

    @Test func anUnreachableRedisThrowsAndIsNotHealthy() async throws {
        let port = try RedisServerProcess.freeLoopbackPort()
        let client = try RedisClient(url: "redis://127.0.0.1:\(port)/0", logger: Logger(label: "test"))
        let store = RedisStateStore(client: client, keyPrefix: prefix)
        await #expect { try await store.admit(admission("n", transaction: "t")) } throws: { error in
            (error as? RedisError)?.code == .connectionFailed
        }
        let problem = await store.problem()
        #expect(problem?.contains("cannot connect to 127.0.0.1:\(port)") == true, "\(problem ?? "nil")")
        await client.close()
        try await withStore { reachable, _ async throws in #expect(await reachable.problem() == nil) }
    }
}
