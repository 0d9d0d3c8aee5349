import Foundation
import Testing
import ScepterTesting
@testable import ScepterControl

/// `sslmode=verify-full` against the test server, which `scripts/services`
/// starts with TLS and a certificate for 127.0.0.1 from its own CA.
@Suite("PostgreSQL over verified TLS", .serialized, .timeLimit(.minutes(5)))
struct PostgresTLSTests {
    static func caPath() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["SCEPTER_TEST_DATABASE_CA"], FileManager.default.fileExists(atPath: path) else {
            throw PostgresTestDatabase.NotConfigured(
                description: "SCEPTER_TEST_DATABASE_CA is not set or missing: restart the test services (scripts/services stop; eval \"$(scripts/services)\") so PostgreSQL serves TLS")
        }
        return path
    }

    static func url(_ database: PostgresTestDatabase, _ query: String) -> String {
        let server = database.configuration
        return "postgres://\(server.username)@\(server.host):\(server.port)/\(database.name)?\(query)"
    }

    @Test("verify-full with the server's CA connects; with another CA it is refused, naming the server")
    func verifyFull() async throws {
        let ca = try Self.caPath()
        let database = try await PostgresTestDatabase.create()
        defer { Task { await database.drop() } }
        var trusted = try PostgresStore.Configuration(url: Self.url(database, "sslmode=verify-full&sslrootcert=\(ca)"))
        // The connection that must succeed gets the test databases' 30 s (PostgresTestDatabase): the
        // default 5 s ran out once in CI, with the whole suite's databases being created beside it.
        trusted.connectTimeout = .seconds(30)
        let verified = PostgresStore(configuration: trusted, logger: ControlFixtures.logger)
        try await verified.migrate()

        let rogue = try await TestTLS.make()
        var configuration = try PostgresStore.Configuration(url: Self.url(database, "sslmode=verify-full&sslrootcert=\(rogue.caPath)"))
        configuration.connectTimeout = .seconds(5)
        let refused = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)
        let error = await #expect(throws: PostgresStore.Error.self) { try await refused.migrate() }
        #expect(error?.message.contains("127.0.0.1") == true, "\(String(describing: error))")
    }

    @Test("A database on another host reached without verify-full or verify-ca warns at start; loopback and verified ones do not")
    func unverifiedRemoteDatabaseWarns() throws {
        let remote = try PostgresStore.Configuration(url: "postgres://scepter@db.example.net:5432/scepter")
        #expect(remote.unverifiedServerWarning?.contains("sslmode=prefer") == true)
        #expect(try PostgresStore.Configuration(url: "postgres://scepter@db.example.net/scepter?sslmode=require").unverifiedServerWarning != nil)
        #expect(try PostgresStore.Configuration(url: "postgres://scepter@db.example.net/scepter?sslmode=verify-full").unverifiedServerWarning == nil)
        #expect(try PostgresStore.Configuration(url: "postgres://scepter@127.0.0.1/scepter").unverifiedServerWarning == nil)
    }
}
