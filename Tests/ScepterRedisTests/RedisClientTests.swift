import ScepterRedis
import ScepterTesting
import Testing

@Suite("Redis client against a real redis-server: replies, errors, pipelining, scripts", .timeLimit(.minutes(5)))
struct RedisClientTests {
    let prefix = TestRedis.uniquePrefix("client")

    @Test func setAndGetAreBinarySafe() async throws {
        try await withClient { client in
            let key = Array("\(prefix)key\r\n\0with junk".utf8)
            let value: [UInt8] = [0, 13, 10, 255, 0x24, 0x2A] + Array("\r\n$-1\r\n*2\r\n".utf8) + [0, 0]
            #expect(try await client.send(["SET", key, value]) == .simple("OK"))
            #expect(try await client.send(["GET", key]) == .bulk(value))
            #expect(try await client.send(["STRLEN", key]) == .integer(Int64(value.count)))

            #expect(try await client.send(["SET", "\(prefix)empty", [UInt8]()]) == .simple("OK"))
            #expect(try await client.send(["GET", "\(prefix)empty"]) == .bulk([]))
            let missing = try await client.send(["GET", "\(prefix)missing"])
            #expect(missing == .bulk(nil))
            #expect(missing.isNull)
        }
    }

    @Test func aOneMebibyteValueSpanningManyReadsComesBackIntact() async throws {
        try await withClient { client in
            var generator = SystemRandomNumberGenerator()
            let value = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try await client.send(["SET", "\(prefix)big", value])
            #expect(try await client.send(["GET", "\(prefix)big"]).bytes == value)
        }
    }

    @Test func integersIncludingNegativeAndInt64Max() async throws {
        try await withClient { client in
            #expect(try await client.send(["INCRBY", "\(prefix)n", -5]) == .integer(-5))
            _ = try await client.send(["SET", "\(prefix)max", Int64.max - 1])
            #expect(try await client.send(["INCR", "\(prefix)max"]) == .integer(.max))
            #expect(try await client.send(["GET", "\(prefix)max"]).integer == .max)
        }
    }

    @Test func arraysNestedArraysNullsAndErrorsAsValues() async throws {
        try await withClient { client in
            #expect(try await client.send(["RPUSH", "\(prefix)list", "a", "", "c"]) == .integer(3))
            #expect(try await client.send(["LRANGE", "\(prefix)list", 0, -1]) == .array([.bulk("a"), .bulk(""), .bulk("c")]))
            #expect(try await client.send(["LRANGE", "\(prefix)nothing", 0, -1]) == .array([]))

            let nested = try await client.send([
                "EVAL", "return {1, {2, 'x'}, redis.error_reply('boom'), false, redis.status_reply('fine')}", 0,
            ])
            #expect(
                nested
                    == .array([
                        .integer(1), .array([.integer(2), .bulk("x")]), .error("ERR boom"), .bulk(nil), .simple("fine"),
                    ]))
        }
    }

    @Test func topLevelErrorRepliesThrowAndTheConnectionStaysUsable() async throws {
        try await withClient { client in
            await #expect { try await client.send(["NO-SUCH-COMMAND", "x"]) } throws: { error in
                (error as? RedisError)?.matches(.server, "ERR unknown command") == true
            }
            _ = try await client.send(["SET", "\(prefix)string", "v"])
            await #expect { try await client.send(["LPUSH", "\(prefix)string", "x"]) } throws: { error in
                (error as? RedisError)?.matches(.server, "WRONGTYPE") == true
            }
            try await client.ping()
            #expect(try await client.send(["GET", "\(prefix)string"]) == .bulk("v"))
        }
    }

    @Test func twoHundredConcurrentCommandsArePipelinedOnOneConnectionAndPairedWithTheirReplies() async throws {
        try await withClient { client in
            let results = try await withThrowingTaskGroup(of: (Int, RedisValue, RedisValue, RedisValue).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let value = Array("value-\(index)-\(String(repeating: "x", count: index))".utf8)
                        _ = try await client.send(["SET", "\(prefix)c\(index)", value])
                        let read = try await client.send(["GET", "\(prefix)c\(index)"])
                        let counter = try await client.send(["INCR", "\(prefix)counter"])
                        let connection = try await client.send(["CLIENT", "ID"])
                        #expect(read == .bulk(value))
                        return (index, read, counter, connection)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 200)
            #expect(Set(results.map(\.2)).count == 200, "every INCR got its own reply")
            #expect(Set(results.map(\.3)).count == 1, "one connection served all callers")
            #expect(try await client.send(["GET", "\(prefix)counter"]).integer == 200)
        }
    }

    @Test func scriptsRunByShaAndFallBackToEvalWhenTheServerDoesNotHaveThem() async throws {
        try await withClient { client in
            // A source no other test uses, so the server cannot have it cached yet.
            let script = RedisScript("-- \(prefix)\nreturn {KEYS[1], ARGV[1], #KEYS, #ARGV}")
            #expect(try await client.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))
            let first = try await client.eval(script, keys: ["\(prefix)k"], arguments: [[0, 13, 10] as [UInt8]])
            #expect(first == .array([.bulk("\(prefix)k"), .bulk([0, 13, 10]), .integer(1), .integer(1)]))
            #expect(try await client.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
            #expect(try await client.eval(script, keys: ["a"], arguments: ["b"]) == .array([.bulk("a"), .bulk("b"), .integer(1), .integer(1)]))
            // The locally computed SHA-1 is the server's.
            #expect(try await client.send(["SCRIPT", "LOAD", script.source]) == .bulk(script.sha1))
            await #expect { try await client.eval(RedisScript("return redis.error_reply('nope')")) } throws: { error in
                (error as? RedisError)?.matches(.server, "nope") == true
            }
        }
    }

    @Test func theDatabaseIndexOfTheURLIsSelected() async throws {
        let base = try TestRedis.url()
        guard let slash = base.lastIndex(of: "/") else { throw RedisError(.invalidURL, "no /db in \(base)") }
        let databaseTwo = base[..<slash] + "/2"
        try await withClient(url: String(databaseTwo)) { two in
            _ = try await two.send(["SET", "\(prefix)db", "two"])
            #expect(try await two.send(["CLIENT", "INFO"]).string?.contains(" db=2 ") == true)
            let inZero = try await withClient { zero in try await zero.send(["GET", "\(prefix)db"]) }
            #expect(inZero == .bulk(nil))
            #expect(try await two.send(["GET", "\(prefix)db"]) == .bulk("two"))
            _ = try await two.send(["DEL", "\(prefix)db"])
        }
    }

    @Test func aConnectionTheServerKilledIsReplacedOnTheNextCommand() async throws {
        try await withClient { client in
            try await withClient { admin in
                _ = try await client.send(["SET", "\(prefix)survives", "yes"])
                let before = try #require(try await client.send(["CLIENT", "ID"]).integer)
                #expect(try await admin.send(["CLIENT", "KILL", "ID", before]) == .integer(1))
                await client.waitForDisconnection()
                #expect(try await client.send(["GET", "\(prefix)survives"]) == .bulk("yes"))
                let after = try #require(try await client.send(["CLIENT", "ID"]).integer)
                #expect(after != before)
            }
        }
    }

    @Test func aClosedClientRefusesCommands() async throws {
        let client = try RedisClient(url: TestRedis.url(), logger: testLogger)
        try await client.ping()
        await client.close()
        await #expect { try await client.ping() } throws: { error in
            (error as? RedisError)?.code == .clientClosed
        }
    }
}
