import ScepterRedis
import ScepterTesting
import Testing

@Suite("Redis client when the peer misbehaves or the server goes away", .timeLimit(.minutes(5)))
struct RedisFailureTests {
    @Test func aPeerThatNeverAnswersTimesOutWithinTheCommandTimeout() async throws {
        let silent = try LoopbackListener()
        let timeout = Duration.milliseconds(300)
        try await withClient(url: "redis://127.0.0.1:\(silent.port)/0", timeout: timeout) { client in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect { try await client.send(["PING"]) } throws: { error in
                (error as? RedisError)?.code == .timeout
            }
            let elapsed = clock.now - start
            // The timeout fired (not an instant refusal) and nothing hung; the
            // upper bound is loose because a loaded CI machine delays timers.
            #expect(elapsed >= timeout)
            #expect(elapsed < timeout + .seconds(120))
        }
    }

    @Test func authenticationAgainstAPeerThatNeverAnswersFailsWithinTheTimeout() async throws {
        let silent = try LoopbackListener()
        let timeout = Duration.milliseconds(300)
        try await withClient(url: "redis://:pw@127.0.0.1:\(silent.port)/4", timeout: timeout) { client in
            let clock = ContinuousClock()
            let start = clock.now
            await #expect { try await client.send(["PING"]) } throws: { error in
                guard let error = error as? RedisError else { return false }
                return error.code == .connectionFailed && error.message.contains("timeout")
                    && !error.message.contains("pw@")
            }
            #expect(clock.now - start < timeout + .seconds(120))
        }
    }

    @Test func aRefusedConnectionFailsAtOnceWithAClearError() async throws {
        let port = try RedisServerProcess.freeLoopbackPort()
        try await withClient(url: "redis://127.0.0.1:\(port)/0", timeout: .seconds(10)) { client in
            // The error code tells a refusal from a timeout; wall time under load does not.
            await #expect { try await client.ping() } throws: { error in
                (error as? RedisError)?.matches(.connectionFailed, "cannot connect to 127.0.0.1:\(port)") == true
            }
        }
    }

    @Test func aCommandInFlightWhenThePeerClosesFailsAsConnectionClosed() async throws {
        let peer = try ScriptedPeer(reply: nil)
        defer { peer.stop() }
        try await withClient(url: "redis://127.0.0.1:\(peer.port)/0", timeout: .seconds(30)) { client in
            // connectionClosed, not timeout: it failed on the close.
            await #expect { try await client.send(["PING"]) } throws: { error in
                (error as? RedisError)?.code == .connectionClosed
            }
        }
    }

    @Test func bytesThatAreNotRESPFailAsAProtocolError() async throws {
        let peer = try ScriptedPeer(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        defer { peer.stop() }
        try await withClient(url: "redis://127.0.0.1:\(peer.port)/0", timeout: .seconds(30)) { client in
            await #expect { try await client.send(["PING"]) } throws: { error in
                (error as? RedisError)?.matches(.protocolError, "Protocol error") == true
            }
        }
    }

    @Test func passwordsAreSentAndAWrongOneIsAClearErrorThatDoesNotLeakIt() async throws {
        let server = try await RedisServerProcess.start(options: ["--requirepass", "right-horse"])
        try await withClient(url: "redis://:right-horse@127.0.0.1:\(server.port)/1") { client in
            try await client.ping()
            #expect(try await client.send(["CLIENT", "INFO"]).string?.contains(" db=1 ") == true)
        }
        try await withClient(url: "redis://default:right-horse@127.0.0.1:\(server.port)/0") { client in
            try await client.ping()
        }
        try await withClient(url: "redis://:wrong-battery@127.0.0.1:\(server.port)/0") { client in
            await #expect { try await client.ping() } throws: { error in
                guard let error = error as? RedisError else { return false }
                return error.matches(.connectionFailed, "AUTH failed: WRONGPASS") && !"\(error)".contains("wrong-battery")
            }
        }
        try await withClient(url: "redis://127.0.0.1:\(server.port)/0") { client in
            await #expect { try await client.ping() } throws: { error in
                (error as? RedisError)?.matches(.server, "NOAUTH") == true
            }
        }
        await server.stop()
    }

    @Test func theClientSurvivesKillAllAndAServerRestartAndReloadsItsScript() async throws {
        let server = try await RedisServerProcess.start()
        try await withClient(url: server.url) { client in
            try await withClient(url: server.url) { admin in
                let script = RedisScript("return redis.call('INCR', KEYS[1])")
                #expect(try await client.eval(script, keys: ["counter"]) == .integer(1))
                let firstID = try await client.send(["CLIENT", "ID"])

                // Every normal client but the admin (SKIPME yes is the default).
                #expect(try await admin.send(["CLIENT", "KILL", "TYPE", "normal"]).integer == 1)
                await client.waitForDisconnection()
                #expect(try await client.eval(script, keys: ["counter"]) == .integer(2))
                #expect(try await client.send(["CLIENT", "ID"]) != firstID)

                await server.stop()
                await client.waitForDisconnection()
                await #expect { try await client.ping() } throws: { error in
                    (error as? RedisError)?.code == .connectionFailed
                }
                try await server.start()
                // A fresh server: nothing persisted, no cached script (NOSCRIPT -> EVAL).
                #expect(try await client.send(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(0)]))
                #expect(try await client.eval(script, keys: ["counter"]) == .integer(1))
            }
        }
        await server.stop()
    }
}
