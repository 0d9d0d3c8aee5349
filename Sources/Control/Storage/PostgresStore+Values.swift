import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// Statements of `SQLStore` on one pooled connection.
    struct Executor: SQLExecutor {
        let store: PostgresStore
        let connection: PostgresConnection
        let operation: String

        func run(_ statement: SQLStatement) async throws -> [any SQLRow] {
            var binds = PostgresBindings(capacity: statement.binds.count)
            for value in statement.binds {
                switch value {
                case .text(let text): binds.append(text)
                case .integer(let integer): binds.append(integer)
                case .real(let real): binds.append(real)
                case .bytes(let bytes): binds.append(ByteBuffer(bytes: bytes))
                case .instant(let date): binds.append(PostgresTimestamp(date))
                case .boolean(let flag): binds.append(flag)
                case .null: binds.appendNull()
                }
            }
            if let rows = try await store.executePrepared(statement, binds: binds, on: connection, "\(operation): \(statement.summary)") {
                return rows.map { Row(row: $0) }
            }
            let query = PostgresQuery(unsafeSQL: SQLDialect.postgres.render(statement.sql), binds: binds)
            return try await store.execute(query, on: connection, "\(operation): \(statement.summary)").map { Row(row: $0) }
        }
    }

    /// A row read by column name; a column of another type is `UnexpectedRow`.
    struct Row: SQLRow {
        let row: PostgresRandomAccessRow

        init(row: PostgresRow) {
            self.row = row.makeRandomAccess()
        }

        private func read<Value: PostgresDecodable>(_ column: String, as type: Value.Type) throws -> Value? {
            guard row.contains(column) else { throw UnexpectedRow(table: "?", column: column, problem: "is missing") }
            let cell = row[column]
            guard cell.bytes != nil else { return nil }
            do {
                return try cell.decode(Value.self)
            } catch let error as PostgresDecodingError {
                throw UnexpectedRow(table: "?", column: column, problem: "is \(error.postgresType), which does not read as \(error.targetType)")
            }
        }

        func text(_ column: String) throws -> String? { try read(column, as: String.self) }
        func integer(_ column: String) throws -> Int64? { try read(column, as: Int64.self) }
        func real(_ column: String) throws -> Double? { try read(column, as: Double.self) }
        func bytes(_ column: String) throws -> [UInt8]? { try read(column, as: ByteBuffer.self).map { Array($0.readableBytesView) } }
        func instant(_ column: String) throws -> Date? { try read(column, as: PostgresTimestamp.self)?.date }
    }
}

struct PostgresTimestamp: PostgresNonThrowingEncodable, PostgresDecodable, Sendable {
    var date: Date

    init(_ date: Date) { self.date = date }

    /// Microseconds from 1970 to 2000-01-01, PostgreSQL's epoch.
    private static let epochOffset: Int64 = 946_684_800_000_000

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        byteBuffer.writeInteger(milliseconds * 1000 - Self.epochOffset)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp else { throw PostgresDecodingError.Code.typeMismatch }
        guard format == .binary, buffer.readableBytes == 8, let microseconds = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.failure
        }
        let sinceUnixEpoch = microseconds + Self.epochOffset
        // Whole milliseconds are exact as a Double; the rest is added after.
        let (milliseconds, rest) = sinceUnixEpoch.quotientAndRemainder(dividingBy: 1000)
        date = Date(timeIntervalSince1970: Double(milliseconds) / 1000 + Double(rest) / 1_000_000)
    }
}
