import NIOCore
import PostgresNIO

/// The enrollment path's statements (`HotStatement`), prepared once per
/// connection: PostgreSQL then skips parsing, analysing and (after a few
/// runs, with a generic plan) planning them on every enrollment.
/// postgres-nio names a prepared statement by a type, so each has one.
extension PostgresStore {
    /// The fixed text of a hot statement, as PostgreSQL takes it.
    protocol PreparedText {
        static var name: String { get }
        /// As `SQLStore` writes it (`?` placeholders).
        static var source: String { get }
        static var sql: String { get }
    }

    enum EnrollmentsOfTransaction: PreparedText {
        static let name = "scepter_enrollments_of_transaction"
        static let source = PostgresStore.enrollmentsOfTransactionSQL
        static let sql = SQLDialect.postgres.render(source)
    }

    enum Issuance: PreparedText {
        static let name = "scepter_issuance"
        static let source = PostgresStore.issuanceSQL
        static let sql = SQLDialect.postgres.render(source)
    }

    struct Prepared<Text: PreparedText>: PostgresPreparedStatement {
        typealias Row = PostgresRow
        static var name: String { Text.name }
        static var sql: String { Text.sql }

        let bindings: PostgresBindings

        func makeBindings() -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
    }

    /// Runs `statement` as its prepared form when it has one and its text is
    /// that form's (anything else runs as an unnamed statement); nil: no
    /// prepared form.
    func executePrepared(
        _ statement: SQLStatement, binds: PostgresBindings, on connection: PostgresConnection, _ doing: @autoclosure () -> String
    ) async throws -> [PostgresRow]? {
        switch statement.hot {
        case .enrollmentsOfTransaction: try await execute(Prepared<EnrollmentsOfTransaction>.self, statement, binds, on: connection, doing())
        case .issuance: try await execute(Prepared<Issuance>.self, statement, binds, on: connection, doing())
        case nil: nil
        }
    }

    private func execute<Text: PreparedText>(
        _ type: Prepared<Text>.Type, _ statement: SQLStatement, _ binds: PostgresBindings, on connection: PostgresConnection,
        _ doing: @autoclosure () -> String
    ) async throws -> [PostgresRow]? {
        // A statement marked hot whose text is not its prepared form's is a bug
        // (the tests stop on it); a release build runs it unprepared.
        guard statement.sql == Text.source else {
            assertionFailure("\(Text.name): the statement is not the prepared text")
            return nil
        }
        return try await execute(Prepared<Text>(bindings: binds), on: connection, doing())
    }

    /// `execute(_:on:_:)` for a prepared statement (postgres-nio runs those
    /// only as async calls, so a task of its own sends it).
    private func execute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, on connection: PostgresConnection, _ doing: @autoclosure () -> String
    ) async throws -> [PostgresRow] where Statement.Row == PostgresRow {
        let logger = logger
        return try await answer(on: connection, doing()) {
            let rows = connection.eventLoop.makePromise(of: [PostgresRow].self)
            rows.completeWithTask {
                var collected: [PostgresRow] = []
                for try await row in try await connection.execute(statement, logger: logger) { collected.append(row) }
                return collected
            }
            return rows.futureResult
        }
    }
}
