import Foundation
import ScepterProtocol

/// A value bound to a statement. Each engine stores it its own way: an
/// instant is ISO 8601 text in SQLite and `timestamptz(3)` in PostgreSQL, a
/// boolean 0/1 or `boolean`.
enum SQLValue: Sendable, Hashable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case bytes([UInt8])
    case instant(Date)
    case boolean(Bool)
    case null

    static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// A statement every enrollment runs, whose text never changes: an engine
/// may prepare it once per connection instead of parsing and planning it on
/// every call.
enum HotStatement: Sendable {
    /// `SQLStore.enrollments(profile:transactionID:)`.
    case enrollmentsOfTransaction
    /// `SQLStore.commitIssued` of a first enrollment with its provisional
    /// audit row, as one PostgreSQL statement.
    case issuance
}

/// One statement: SQL with `?` placeholders, and their values in order.
struct SQLStatement: Sendable {
    var sql: String
    var binds: [SQLValue]
    /// Set when `sql` is the fixed text of a statement on the enrollment path.
    var hot: HotStatement?
    /// Set for a statement made of others (`WITH … AS (INSERT …)`): theirs,
    /// summarised only when an error needs it (splitting SQL into words is
    /// not free, and the issuance path combines statements on every call).
    private var steps: [SQLStatement]?

    init(_ sql: String, _ binds: [SQLValue] = []) {
        self.sql = sql
        self.binds = binds
    }

    /// One PostgreSQL statement that runs `steps` in order, each a
    /// data-modifying WITH clause: all of them or none, in one round trip.
    init(postgresSteps steps: [SQLStatement]) {
        self.init(Self.postgresSQL(steps: steps.map(\.sql)), steps.flatMap(\.binds))
        self.steps = steps
    }

    /// The text of `init(postgresSteps:)`.
    static func postgresSQL(steps: [String]) -> String {
        let clauses = steps.enumerated().map { "step\($0.offset) AS (\($0.element))" }
        return "WITH " + clauses.joined(separator: ", ") + " SELECT 1"
    }

    /// What the statement does, for error messages: `INSERT INTO certificates`,
    /// `SELECT FROM audit_events`, `UPDATE enrollments`.
    var summary: String {
        if let steps { return steps.map(\.summary).joined(separator: " + ") }
        let words = sql.split(whereSeparator: \.isWhitespace)
        guard let verb = words.first?.uppercased() else { return "statement" }
        func after(_ keyword: String) -> String? {
            words.firstIndex { $0.uppercased() == keyword }.flatMap { words.index(after: $0) < words.endIndex ? String(words[words.index(after: $0)]) : nil }
        }
        switch verb {
        case "INSERT": return "INSERT INTO " + (after("INTO") ?? "?")
        case "UPDATE": return "UPDATE " + (words.dropFirst().first.map(String.init) ?? "?")
        case "DELETE": return "DELETE FROM " + (after("FROM") ?? "?")
        case "SELECT": return "SELECT FROM " + (after("FROM") ?? "?")
        default: return String(words.prefix(3).joined(separator: " "))
        }
    }
}

/// A result row, read by column name; nil for SQL NULL.
protocol SQLRow {
    func text(_ column: String) throws -> String?
    func integer(_ column: String) throws -> Int64?
    func real(_ column: String) throws -> Double?
    func bytes(_ column: String) throws -> [UInt8]?
    func instant(_ column: String) throws -> Date?
}

/// Runs statements on one connection, inside the store's transaction when
/// it opened one.
protocol SQLExecutor: Sendable {
    func run(_ statement: SQLStatement) async throws -> [any SQLRow]
}

extension SQLExecutor {
    @discardableResult
    func run(_ sql: String, _ binds: [SQLValue] = []) async throws -> [any SQLRow] {
        try await run(SQLStatement(sql, binds))
    }
}

/// Where the two engines' SQL differs; everything else is written once.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// The statement as the engine takes it: PostgreSQL numbers its
    /// placeholders (`$1`, `$2`, …). Scepter's SQL has no `?` inside literals.
    func render(_ sql: String) -> String {
        guard self == .postgres else { return sql }
        // Byte by byte: `?` is ASCII and never part of a longer UTF-8 sequence.
        var rendered: [UInt8] = []
        rendered.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        for byte in sql.utf8 {
            if byte == UInt8(ascii: "?") {
                number += 1
                rendered.append(UInt8(ascii: "$"))
                rendered.append(contentsOf: String(number).utf8)
            } else {
                rendered.append(byte)
            }
        }
        return String(decoding: rendered, as: UTF8.self)
    }

    /// Appended to a SELECT that a transaction goes on to update: PostgreSQL
    /// locks the rows; SQLite's write transactions already exclude each other.
    var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }

    /// A time column cut to its UTC hour (`2026-11-30T10`) or day
    /// (`2026-11-30`), as text: SQLite's instants are ISO text already.
    func bucket(_ column: String, hourly: Bool) -> String {
        switch self {
        case .sqlite: "substr(\(column), 1, \(hourly ? 13 : 10))"
        case .postgres: "to_char(\(column) AT TIME ZONE 'UTC', '\(hourly ? #"YYYY-MM-DD"T"HH24"# : "YYYY-MM-DD")')"
        }
    }
}

/// A row that does not read as the schema says: a column missing or of
/// another type. Names the table and the column.
struct UnexpectedRow: Error, CustomStringConvertible {
    var table: String
    var column: String
    var problem: String

    var description: String { "\(table): column \(column) \(problem)" }
}

extension SQLRow {
    /// A NOT NULL column.
    func required<Value>(_ read: (String) throws -> Value?, _ column: String, in table: String) throws -> Value {
        guard let value = try read(column) else { throw UnexpectedRow(table: table, column: column, problem: "is NULL or missing") }
        return value
    }

    func operation(_ column: String, in table: String) throws -> AuditOperation {
        let stored = try required(text, column, in: table)
        guard let operation = AuditOperation(rawValue: stored) else {
            throw UnexpectedRow(table: table, column: column, problem: "holds \"\(stored)\", which is not an audited operation")
        }
        return operation
    }

    func outcome(_ column: String, in table: String) throws -> Outcome {
        let stored = try required(text, column, in: table)
        guard let outcome = Outcome(rawValue: stored) else {
            throw UnexpectedRow(table: table, column: column, problem: "holds \"\(stored)\", which is not an outcome label")
        }
        return outcome
    }
}
