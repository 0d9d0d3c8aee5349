import CSQLite3
import Foundation

/// One SQLite connection (Debian's libsqlite3), the only place the embedded
/// store touches C. Statements run synchronously on the calling thread and
/// stay prepared between calls: an enrollment costs no thread switch and no
/// SQL parse. Not thread-safe: `SQLiteStore` runs one operation at a time.
final class SQLiteDatabase: @unchecked Sendable {
    // @unchecked: every use is serialised by SQLiteStore's lock.
    private var handle: OpaquePointer?
    /// The file, as errors name it.
    let name: String
    /// Prepared statements by SQL text; dropped all at once past `cacheLimit`
    /// (the admin API's filters make many texts, the enrollment path a few).
    private var prepared: [String: OpaquePointer] = [:]
    private static let cacheLimit = 64
    /// How long a statement waits for a lock another connection holds (`PRAGMA busy_timeout`).
    static let busyTimeoutMilliseconds = 5000

    /// Opens (creating if needed) the database at `path`; nil: in memory.
    init(path: String?) throws(SQLiteError) {
        name = path ?? "in memory"
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path ?? ":memory:", &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw SQLiteError(database: name, code: code, message: message, doing: "opening it")
        }
        handle = opened
    }

    deinit { close() }

    func close() {
        for statement in prepared.values { sqlite3_finalize(statement) }
        prepared = [:]
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs one statement with `binds` and returns its rows.
    func run(_ sql: String, _ binds: [SQLValue], doing: @autoclosure () -> String) throws(SQLiteError) -> [SQLiteRow] {
        guard let handle else { throw SQLiteError(database: name, code: SQLITE_MISUSE, message: "the database is closed", doing: doing()) }
        let statement = try statement(for: sql, on: handle, doing: doing())
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .text(let text): code = Self.bind(text, at: index, of: statement)
            case .integer(let integer): code = sqlite3_bind_int64(statement, index, integer)
            case .real(let real): code = sqlite3_bind_double(statement, index, real)
            case .bytes(let bytes):
                code = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), scepter_sqlite3_transient()) }
            case .instant(let date): code = Self.bind(Timestamp.format(date), at: index, of: statement)
            case .boolean(let flag): code = sqlite3_bind_int64(statement, index, flag ? 1 : 0)
            case .null: code = sqlite3_bind_null(statement, index)
            }
            guard code == SQLITE_OK else { throw error(code, on: handle, doing: doing()) }
        }
        var columns: SQLiteRow.Columns?
        var rows: [SQLiteRow] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw error(code, on: handle, doing: doing()) }
            let names = columns ?? SQLiteRow.Columns(statement)
            columns = names
            rows.append(SQLiteRow(columns: names, values: (0..<names.names.count).map { SQLiteRow.value(statement, Int32($0)) }))
        }
    }

    /// Text with its UTF-8 length: a NUL inside it is kept, not an end.
    private static func bind(_ text: String, at index: Int32, of statement: OpaquePointer) -> Int32 {
        sqlite3_bind_text64(statement, index, text, sqlite3_uint64(text.utf8.count), scepter_sqlite3_transient(), UInt8(SQLITE_UTF8))
    }

    private func statement(for sql: String, on handle: OpaquePointer, doing: @autoclosure () -> String) throws(SQLiteError) -> OpaquePointer {
        if let cached = prepared[sql] { return cached }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code, on: handle, doing: doing()) }
        if prepared.count >= Self.cacheLimit {
            for old in prepared.values { sqlite3_finalize(old) }
            prepared = [:]
        }
        prepared[sql] = statement
        return statement
    }

    private func error(_ code: Int32, on handle: OpaquePointer, doing: String) -> SQLiteError {
        SQLiteError(database: name, code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), doing: doing)
    }
}

/// What SQLite refused, with the file, its (extended) result code and message.
struct SQLiteError: Error, CustomStringConvertible {
    var database: String
    var code: Int32
    var message: String
    var doing: String

    /// A UNIQUE or PRIMARY KEY (any constraint) failure.
    var isConstraint: Bool { code & 0xFF == SQLITE_CONSTRAINT }

    var description: String {
        // Busy past busy_timeout: only another connection to the file can hold it that long.
        let hint =
            code & 0xFF == SQLITE_BUSY
            ? "; another program (a sqlite3 shell in a write transaction?) held the file for more than \(SQLiteDatabase.busyTimeoutMilliseconds) ms"
            : ""
        return "SQLite database \(database): \(doing): \(message) (code \(code))\(hint)"
    }
}

/// A result row: its statement's column names and this row's values.
struct SQLiteRow {
    /// Shared by the rows of one result.
    final class Columns {
        let names: [String]

        init(_ statement: OpaquePointer) {
            names = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
        }
    }

    enum Value {
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])
    }

    let columns: Columns
    /// nil for SQL NULL.
    let values: [Value?]

    static func value(_ statement: OpaquePointer, _ index: Int32) -> Value? {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let text = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return nil
        }
    }

    /// The value of `column`; nil when NULL or absent.
    subscript(column: String) -> Value? {
        guard let index = columns.names.firstIndex(of: column) else { return nil }
        return values[index]
    }
}
