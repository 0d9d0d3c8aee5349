import Foundation
import Logging
import PostgresNIO
import Testing
@testable import ScepterControl

/// A fresh database on the PostgreSQL server `SCEPTER_TEST_DATABASE_URL`
/// names, so tests are independent and run in parallel.
struct PostgresTestDatabase {
    /// Why a test cannot reach PostgreSQL, and how to fix it.
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String
    }

    static let variable = "SCEPTER_TEST_DATABASE_URL"

    /// The server the tests use, from the environment.
    static func server() throws -> PostgresStore.Configuration {
        guard let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty else {
            throw NotConfigured(
                description: """
                    \(variable) is not set: the PostgreSQL store tests need a server. Start the throwaway one with
                        eval "$(scripts/services)"
                    (it prints export \(variable)=postgres://scepter@127.0.0.1:55432/scepter) and run the tests again;
                    scripts/test does this by itself. Stop it with scripts/services stop.
                    """)
        }
        do {
            return try PostgresStore.Configuration(url: url)
        } catch {
            throw NotConfigured(description: "\(variable): \(error.message)")
        }
    }

    let name: String
    /// Points at this database. Timeouts are generous: the whole suite shares
    /// two cores; tests of the timeouts set their own.
    let configuration: PostgresStore.Configuration
    private let server: PostgresStore.Configuration

    /// Creates `scepter_test_<random>` on the test server.
    static func create() async throws -> PostgresTestDatabase {
        let server = try server()
        let name = "scepter_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await administer(server, "CREATE DATABASE \(unescaped: name)")
        var configuration = server
        configuration.database = name
        configuration.connectTimeout = .seconds(30)
        configuration.queryTimeout = .seconds(30)
        return PostgresTestDatabase(name: name, configuration: configuration, server: server)
    }

    /// Drops the database; retried a few times, as a backend a test killed may still be exiting.
    func drop() async {
        var lastError: (any Error)?
        for attempt in 0..<5 {
            do {
                try await Self.administer(server, "DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
                return
            } catch {
                lastError = error
                try? await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
            }
        }
        Issue.record("dropping test database \(name): \(String(reflecting: lastError))")
    }

    /// Runs `query` on a connection of its own to `configuration`'s database.
    static func administer(_ configuration: PostgresStore.Configuration, _ query: PostgresQuery) async throws {
        let connection = try await connect(configuration)
        do {
            try await connection.query(query, logger: ControlFixtures.logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A test's own connection: its server-side limits are long, so that a
    /// transaction the test holds open outlives the store's operations.
    static func connect(_ configuration: PostgresStore.Configuration) async throws -> PostgresConnection {
        var configuration = configuration
        configuration.queryTimeout = .seconds(120)
        return try await PostgresConnection.connect(
            configuration: try configuration.connectionConfiguration(), id: 1, logger: ControlFixtures.logger)
    }

    /// A connection to this database for a test's own statements.
    func connect() async throws -> PostgresConnection {
        try await Self.connect(configuration)
    }

    /// One integer from `query`.
    func scalar(_ query: PostgresQuery) async throws -> Int {
        let connection = try await connect()
        do {
            let rows = try await connection.query(query, logger: ControlFixtures.logger).collect()
            try await connection.close()
            return try #require(rows.first).decode(Int.self)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Runs `body` with a store on a fresh database whose `run()` is active,
    /// then stops the store and drops the database.
    static func withStore<T: Sendable>(
        configure: (inout PostgresStore.Configuration) -> Void = { _ in },
        _ body: (PostgresStore, PostgresTestDatabase) async throws -> T
    ) async throws -> T {
        let database = try await create()
        var configuration = database.configuration
        configure(&configuration)
        let store = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                return try await body(store, database)
            }
            await database.drop()
            return result
        } catch {
            await database.drop()
            throw error
        }
    }
}
