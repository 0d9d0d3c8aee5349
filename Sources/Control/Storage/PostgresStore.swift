import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import ScepterProtocol

/// The cluster's store (SPEC §7): PostgreSQL through postgres-nio's
/// `PostgresClient` pool, with the schema and semantics of `SQLiteStore`.
///
/// Lifecycle: `run()` drives the pool; operations other than `migrate()`
/// (which uses a connection of its own, so it can run first) need it running.
/// Graceful shutdown or cancellation of `run()` closes every connection at
/// once: operations in flight fail (their transactions roll back) and later
/// ones are refused with `Error.Code.shutDown`, so shutdown never waits on the
/// database. Put the store in the process's `ServiceGroup` before the services
/// that use it: the group stops services in reverse order, so they drain
/// their requests while the store still serves them.
///
/// Every operation is bounded (see `Configuration`): getting a connection
/// takes at most `connectTimeout`, so an unreachable server fails operations
/// with `Error.Code.unavailable` instead of hanging; the server cancels a
/// statement past `queryTimeout`, and the client closes a connection whose
/// operation outlives it by a second (a server that stopped answering).
package final class PostgresStore: SQLStore, Service {
    package let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    let phase = Mutex(Phase.idle)
    /// Ends the statements waiting on a connection when it closes.
    let closings = ConnectionClosings()

    enum Phase { case idle, running, stopping, stopped }

    /// Key of the advisory lock that serializes migrations across replicas ("SCEPTER!").
    static let migrationLock: Int64 = 0x5343_4550_5445_5221

    package init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: configuration.clientConfiguration(), backgroundLogger: logger)
    }

    // MARK: Lifecycle

    /// How long `run()` waits, once shutting down, for the pool to report
    /// every connection closed before it returns anyway.
    static let poolCloseBudget: Duration = .seconds(3)

    /// Runs the connection pool until graceful shutdown or cancellation, then
    /// closes its connections and returns, within `poolCloseBudget`. Call it once.
    ///
    /// The pool runs in a task of its own (`BoundedShutdown`) so that it
    /// cannot hold up the process's exit: postgres-nio 1.33.2's pool has
    /// been seen, under load, to close every connection on shutdown and then
    /// never return, even when cancelled (the soaks of 2026-12-03: 2 of 5
    /// control planes given SIGTERM sat out their whole grace period, and
    /// ServiceLifecycle then trapped on its cancellation deadline). The one
    /// cause found, a keep-alive query sent on a connection the pool had just
    /// closed and never answered, is gone with keep-alive off
    /// (`Configuration.clientConfiguration()`); the bound stays for any other.
    package func run() async throws {
        let started = phase.withLock { phase in
            guard phase == .idle else { return false }
            phase = .running
            return true
        }
        guard started else { throw Error(code: .shutDown, "run: the store has already run; make a new PostgresStore") }
        logger.info("PostgreSQL store running", metadata: ["database": "\(configuration)"])
        // Graceful shutdown (inherited) or cancellation closes every
        // connection, leased ones too, failing queries in flight and
        // operations waiting for a connection.
        let client = client
        let poolClosed = await BoundedShutdown.run(within: Self.poolCloseBudget, stopping: { self.phase.withLock { $0 = .stopping } }) {
            await client.run()
        }
        phase.withLock { $0 = .stopped }
        if poolClosed {
            logger.info("PostgreSQL store stopped")
        } else {
            logger.warning(
                "PostgreSQL store stopped without its connection pool: the pool did not report its connections closed in time; the process exit closes them (no action needed, see docs/cluster.md 7.3)",
                metadata: ["waited": "\(Self.poolCloseBudget)"])
        }
    }

    func ensureOpen(_ operation: String) throws {
        let current = phase.withLock { $0 }
        if current == .stopping || current == .stopped {
            throw Error(code: .shutDown, "\(operation): the store is shut down")
        }
    }

    // MARK: Migrations and health

    /// Applies pending migrations in one transaction on a connection of its
    /// own, holding an advisory lock so that replicas starting together take
    /// turns. Refuses a database migrated by a newer Scepter.
    package func migrate() async throws {
        try ensureOpen("migrate")
        let connectionConfiguration = try configuration.connectionConfiguration()
        try await bounded("migrate", budget: configuration.migrationTimeout + .seconds(1)) { attempt in
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration, id: 0, logger: self.logger)
            } catch let error as PSQLError {
                throw Error(error, doing: "migrate: connecting", at: self.configuration)
            }
            attempt.connected(connection)
            do {
                try await withTaskCancellationHandler {
                    try await self.applyMigrations(on: connection)
                } onCancel: {
                    connection.closeNow()
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        }
    }

    private func applyMigrations(on connection: PostgresConnection) async throws {
        let latest = Schema.latestVersion
        let limit = Configuration.milliseconds(configuration.migrationTimeout)
        try await transaction(on: connection, "migrate") {
            // A migration may outlast one query's limit (an index on a large table).
            try await self.execute("SET LOCAL statement_timeout = \(unescaped: String(limit))", on: connection, "migrate: SET statement_timeout")
            try await self.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", on: connection, "migrate: taking the migration lock")
            try await self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
                on: connection, "migrate: CREATE TABLE schema_migrations")
            let rows = try await self.execute("SELECT version FROM schema_migrations", on: connection, "migrate: reading schema_migrations")
            let applied = Set(try rows.map { try Row(row: $0).required(Row(row: $0).integer, "version", in: "schema_migrations") }.map(Int.init))
            if let newest = applied.max(), newest > latest {
                throw Error(
                    code: .schemaTooNew,
                    "migrate: the database \(self.configuration.database) is at schema version \(newest), this Scepter knows versions up to \(latest); run a Scepter at least as new as the one that migrated it (migrations are forward-only)")
            }
            for migration in Schema.migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await self.execute(
                        PostgresQuery(unsafeSQL: Schema.render(statement, for: .postgres)), on: connection, "migrate: migration \(migration.version)")
                }
                try await self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(migration.version), now())", on: connection,
                    "migrate: recording migration \(migration.version)")
                self.logger.info("applied schema migration", metadata: ["version": "\(migration.version)"])
            }
        }
    }

    /// nil when a pooled connection answers and may write (readiness);
    /// otherwise why not. A standby, or a database or role with
    /// `default_transaction_read_only`, answers `SELECT 1` but refuses
    /// every issuance (SQLSTATE 25006), as a failover that left the URL on
    /// the old primary does.
    package func problem() async -> String? {
        do {
            let (standby, readOnly) = try await withConnection("health check") { connection in
                let rows = try await self.execute(
                    "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')", on: connection, "health check")
                guard let row = rows.first else { throw Error(code: .unexpectedData, "health check: no row") }
                let (standby, readOnly) = try row.decode((Bool, String).self)
                if standby || readOnly == "on" { await Self.retire(connection) }
                return (standby, readOnly)
            }
            if standby { return "a standby (pg_is_in_recovery() is true): SCEPTER_DATABASE_URL must name the primary" }
            if readOnly == "on" {
                return "read-only (transaction_read_only is on: default_transaction_read_only is set for this database or role)"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: SQLStore

    var dialect: SQLDialect { .postgres }

    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await withConnection(operation) { connection in
            try await body(Executor(store: self, connection: connection, operation: operation))
        }
    }

    func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await withConnection(operation) { connection in
            var result: T?
            try await self.transaction(on: connection, operation) {
                result = try await body(Executor(store: self, connection: connection, operation: operation))
            }
            guard let result else { throw Error(code: .query, "\(operation): the transaction produced no result") }
            return result
        }
    }

    func isEnrollmentConflict(_ error: any Swift.Error) -> Bool {
        guard let error = error as? Error else { return false }
        return error.sqlState == Error.uniqueViolation && error.constraint == Schema.enrollmentKey
    }
}
