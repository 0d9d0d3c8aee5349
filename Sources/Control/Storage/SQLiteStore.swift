import Foundation
import Logging
import NIOCore
import SQLiteNIO
import Synchronization
import ScepterProtocol

/// The embedded-mode store: one SQLite file in WAL mode, with the schema and
/// queries of `SQLStore`.
///
/// `synchronous=NORMAL` survives a crash of the process but can lose the last
/// commits on power loss; production deployments use PostgreSQL.
package final class SQLiteStore: SQLStore {
    private let connection: SQLiteConnection
    /// One operation at a time on the one connection (transactions included).
    private let lock = AsyncLock()
    private let closed = Atomic<Bool>(false)

    var dialect: SQLDialect { .sqlite }

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    deinit {
        // A store dropped without close() still closes its handle (the close
        // runs on the thread pool and keeps the connection alive until then).
        if !closed.load(ordering: .acquiring) {
            _ = connection.close()
        }
    }

    /// Opens (creating if needed) the database at `path`; nil: in memory.
    package static func open(path: String?, logger: Logger) async throws -> SQLiteStore {
        let storage: SQLiteConnection.Storage = path.map { .file(path: $0) } ?? .memory
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        let store = SQLiteStore(connection: connection)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
            _ = try await connection.query(pragma)
        }
        return store
    }

    package func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await connection.close()
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
    }

    // MARK: SQLStore

    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let executor = Executor(connection: connection)
        return try await lock.withLock { try await body(executor) }
    }

    func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        let executor = Executor(connection: connection)
        return try await lock.withLock {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(executor)
                _ = try await connection.query("COMMIT")
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    func isEnrollmentConflict(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        return error.reason == .constraintPrimaryKeyFailed || (error.reason == .constraint && error.message.contains("enrollments."))
    }

    /// Statements on the store's connection; the store holds the lock.
    private struct Executor: SQLExecutor {
        let connection: SQLiteConnection

        func run(_ statement: SQLStatement) async throws -> [any SQLRow] {
            try await connection.query(statement.sql, statement.binds.map(Self.data)).map(Row.init)
        }

        static func data(_ value: SQLValue) -> SQLiteData {
            switch value {
            case .text(let text): .text(text)
            case .integer(let integer): .integer(Int(integer))
            case .real(let real): .float(real)
            case .bytes(let bytes): .blob(ByteBuffer(bytes: bytes))
            case .instant(let date): .text(Timestamp.format(date))
            case .boolean(let flag): .integer(flag ? 1 : 0)
            case .null: .null
            }
        }
    }

    private struct Row: SQLRow {
        let row: SQLiteRow

        private func cell(_ column: String) -> SQLiteData? {
            guard let data = row.column(column), data != .null else { return nil }
            return data
        }

        func text(_ column: String) throws -> String? { cell(column)?.string }
        func integer(_ column: String) throws -> Int64? { cell(column)?.integer.map(Int64.init) }
        func real(_ column: String) throws -> Double? { cell(column)?.double }
        func bytes(_ column: String) throws -> [UInt8]? {
            guard let data = cell(column) else { return nil }
            guard case .blob(let buffer) = data else { throw UnexpectedRow(table: "?", column: column, problem: "is not a BLOB") }
            return Array(buffer.readableBytesView)
        }
        func instant(_ column: String) throws -> Date? {
            guard let text = cell(column)?.string else { return nil }
            guard let date = Timestamp.parse(text) else { throw UnexpectedRow(table: "?", column: column, problem: "holds \"\(text)\", not a timestamp") }
            return date
        }
    }
}

/// ISO 8601 UTC timestamps with milliseconds: sortable as text, readable in `sqlite3`.
enum Timestamp {
    static func format(_ date: Date) -> String {
        // Round to whole milliseconds first: formatting truncates, and binary
        // fractions would otherwise lose a millisecond (0.027 -> .026).
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (whole, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let seconds = fraction < 0 ? whole - 1 : whole
        let millis = fraction < 0 ? fraction + 1000 : fraction
        let base = Date(timeIntervalSince1970: TimeInterval(seconds))
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
        let padded = String(millis + 1000).dropFirst()
        return base.dropLast() + "." + padded + "Z"
    }

    static func parse(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
