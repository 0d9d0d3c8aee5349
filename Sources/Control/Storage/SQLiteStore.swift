import Foundation
import Logging
import Synchronization
import ScepterProtocol

/// The embedded-mode store: one SQLite file in WAL mode, with the schema and
/// queries of `SQLStore`.
///
/// `synchronous=NORMAL` survives a crash of the process but can lose the last
/// commits on power loss; production deployments use PostgreSQL.
///
/// Statements run on the calling task's thread, one operation at a time
/// (`SQLiteDatabase`): in WAL mode with `synchronous=NORMAL` a commit writes
/// to the log without waiting for the disk, so a statement of the
/// enrollment path takes microseconds, less than the thread switches a
/// worker pool would cost. A long admin query holds one thread for its
/// duration, as the lock already held every other operation. Transactions
/// that arrive together commit together (`GroupCommit`).
package final class SQLiteStore: SQLStore {
    private let database: SQLiteDatabase
    /// One operation at a time on the one connection (transactions included).
    private let lock: AsyncLock
    /// Transactions, committed together when they arrive together.
    let groupCommit: GroupCommit
    private let closed = Atomic<Bool>(false)

    var dialect: SQLDialect { .sqlite }

    private init(database: SQLiteDatabase) {
        let lock = AsyncLock()
        self.database = database
        self.lock = lock
        groupCommit = GroupCommit(database: database, lock: lock)
    }

    /// Opens (creating if needed) the database at `path`; nil: in memory.
    package static func open(path: String?, logger: Logger) async throws -> SQLiteStore {
        let database = try SQLiteDatabase(path: path)
        // temp_store=MEMORY keeps the savepoints' journals (`GroupCommit`) in memory, not in a new temporary file each.
        let pragmas = [
            "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY",
            "PRAGMA busy_timeout=\(SQLiteDatabase.busyTimeoutMilliseconds)",
        ]
        for pragma in pragmas {
            _ = try database.run(pragma, [], doing: pragma)
        }
        return SQLiteStore(database: database)
    }

    package func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await lock.withLock { database.close() }
    }

    package func migrate() async throws {
        try await run("migrate") { sql in
            _ = try await sql.run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        }
        let applied = Set(try await run("migrate") { sql in
            try await sql.run("SELECT version FROM schema_migrations").compactMap { try $0.integer("version").map(Int.init) }
        })
        for migration in Schema.migrations where !applied.contains(migration.version) {
            try await transaction("migrate") { sql in
                for statement in migration.statements {
                    try await sql.run(Schema.render(statement, for: .sqlite))
                }
                try await sql.run(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", [.integer(Int64(migration.version)), .instant(Date())])
            }
        }
        try await run("migrate") { sql in
            for index in Schema.onlineIndexes where !index.trigram {
                try await sql.run("CREATE INDEX IF NOT EXISTS \(index.name) ON \(index.definition)")
            }
        }
    }

    // MARK: SQLStore

    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let executor = Executor(database: database, operation: operation)
        return try await lock.withLock { try await body(executor) }
    }

    func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await groupCommit.transaction(operation, body)
    }

    func isEnrollmentConflict(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        return error.isConstraint && error.message.contains("enrollments.")
    }

    /// Statements on the store's connection; the store holds the lock.
    struct Executor: SQLExecutor {
        let database: SQLiteDatabase
        let operation: String

        func run(_ statement: SQLStatement) async throws -> [any SQLRow] {
            try database.run(statement.sql, statement.binds, doing: "\(operation): \(statement.summary)").map(Row.init)
        }
    }

    /// A row read by column name, converting between SQLite's storage classes
    /// where the text allows (an INTEGER read as text, a number held as TEXT).
    private struct Row: SQLRow {
        let row: SQLiteRow

        func text(_ column: String) throws -> String? {
            switch row[column] {
            case .text(let text): text
            case .integer(let integer): String(integer)
            case .real(let real): String(real)
            case .blob, nil: nil
            }
        }

        func integer(_ column: String) throws -> Int64? {
            switch row[column] {
            case .integer(let integer): integer
            case .real(let real): Int64(exactly: real.rounded(.towardZero))
            case .text(let text): Int64(text)
            case .blob, nil: nil
            }
        }

        func real(_ column: String) throws -> Double? {
            switch row[column] {
            case .real(let real): real
            case .integer(let integer): Double(integer)
            case .text(let text): Double(text)
            case .blob, nil: nil
            }
        }

        func bytes(_ column: String) throws -> [UInt8]? {
            switch row[column] {
            case .blob(let bytes): bytes
            case nil: nil
            case .text, .integer, .real: throw UnexpectedRow(table: "?", column: column, problem: "is not a BLOB")
            }
        }

        func instant(_ column: String) throws -> Date? {
            guard let text = try text(column) else { return nil }
            guard let date = Timestamp.parse(text) else { throw UnexpectedRow(table: "?", column: column, problem: "holds \"\(text)\", not a timestamp") }
            return date
        }
    }
}
