import Foundation
import Logging
import Testing
import ScepterProtocol
import ScepterRedis
import ScepterTesting

/// `rediss://` against Debian's redis-server listening with TLS only.
@Suite("Redis over TLS (rediss://)", .serialized, .timeLimit(.minutes(5)))
struct RedisTLSTests {
    static func server(_ tls: TestTLS) async throws -> RedisServerProcess {
        try await RedisServerProcess.start(options: [
            "--port", "0", "--tls-port", "{port}", "--tls-cert-file", tls.serverCertificatePath, "--tls-key-file", tls.serverKeyPath,
            "--tls-ca-cert-file", tls.caPath, "--tls-auth-clients", "no",
        ])
    }

    static func client(_ url: String, caPath: String?) throws -> RedisClient {
        var configuration = try RedisClient.Configuration(url: url, connectTimeout: .seconds(2), commandTimeout: .seconds(2))
        configuration.tlsCAPath = caPath
        return RedisClient(configuration: configuration, logger: Logger(label: "test"))
    }

    @Test("Commands work over TLS when the server's certificate chains to the configured CA and names the address")
    func verifiedServer() async throws {
        let tls = try await TestTLS.make()
        let server = try await Self.server(tls)
        defer { Task { await server.stop() } }
        let client = try Self.client("rediss://127.0.0.1:\(server.port)/0", caPath: tls.caPath)
        #expect(try await client.send(["SET", "tls-key", "over TLS"]).string == "OK")
        #expect(try await client.send(["GET", "tls-key"]).string == "over TLS")
        #expect("\(client.configuration)".hasPrefix("rediss://"))
        await client.close()
    }

    @Test("A server whose certificate does not chain to the configured CA is refused, and plain redis:// cannot talk to a TLS port")
    func refusedServers() async throws {
        let tls = try await TestTLS.make()
        let server = try await Self.server(tls)
        defer { Task { await server.stop() } }
        // Refused as TLS, naming the CA and host it was checked against, with a password too (not "AUTH failed").
        for url in ["rediss://127.0.0.1:\(server.port)/0", "rediss://:secret@127.0.0.1:\(server.port)/0"] {
            let wrongCA = try Self.client(url, caPath: tls.rogueCAPath)
            let error = await #expect(throws: RedisError.self) { _ = try await wrongCA.send(["PING"]) }
            #expect(error?.code == .tlsFailed, "\(String(describing: error))")
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains(tls.rogueCAPath) && text.contains("SCEPTER_REDIS_CA_PATH") && text.contains("127.0.0.1"), "\(text)")
            #expect(!text.contains("AUTH") && !text.contains("secret"), "\(text)")
            await wrongCA.close()
        }
        let plain = try Self.client("redis://127.0.0.1:\(server.port)/0", caPath: nil)
        await #expect(throws: RedisError.self) { _ = try await plain.send(["PING"]) }
        await plain.close()
    }

    @Test("SCEPTER_REDIS_CA_PATH needs rediss:// and a readable PEM bundle")
    func caPathNeedsTLS() async throws {
        let ca = try await TestTLS.make().caPath
        var settings = Settings(environment: ["SCEPTER_REDIS_URL": "redis://127.0.0.1:6379/0", "SCEPTER_REDIS_CA_PATH": ca])
        _ = settings.redis(for: "tests")
        #expect(settings.problems.map(\.variable) == ["SCEPTER_REDIS_CA_PATH"])
        var tls = Settings(environment: ["SCEPTER_REDIS_URL": "rediss://redis.example:6380/0", "SCEPTER_REDIS_CA_PATH": ca])
        let configuration = tls.redis(for: "tests")
        #expect(tls.problems.isEmpty)
        #expect(configuration?.tls == true && configuration?.tlsCAPath == ca)
        var missing = Settings(environment: ["SCEPTER_REDIS_URL": "rediss://redis.example:6380/0", "SCEPTER_REDIS_CA_PATH": "/nonexistent/ca.pem"])
        _ = missing.redis(for: "tests")
        #expect(missing.problems.map(\.description) == ["SCEPTER_REDIS_CA_PATH: /nonexistent/ca.pem is not a readable PEM certificate bundle"])
    }
}
