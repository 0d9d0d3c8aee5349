import PostgresNIO

extension PostgresStore {
    /// A PostgreSQL store failure, naming the operation and what failed.
    /// An enrollment written twice is `StoreConflict`, not this.
    package struct Error: Swift.Error, Sendable, CustomStringConvertible {
        package struct Code: Sendable, Hashable, CustomStringConvertible {
            private enum Base: String, Sendable, Hashable {
                case invalidConfiguration, unavailable, timedOut, query, unexpectedData, schemaTooNew, shutDown
            }

            private let base: Base
            private init(_ base: Base) { self.base = base }

            /// `SCEPTER_DATABASE_URL` or the TLS setup is wrong.
            package static let invalidConfiguration = Self(.invalidConfiguration)
            /// No connection: server down or unreachable, login refused, or every pooled connection busy.
            package static let unavailable = Self(.unavailable)
            /// A statement ran past `statement_timeout`, or an operation past the client's limit.
            package static let timedOut = Self(.timedOut)
            /// The server refused a statement.
            package static let query = Self(.query)
            /// A row did not read back as the schema says.
            package static let unexpectedData = Self(.unexpectedData)
            /// The database was migrated by a newer Scepter than this one.
            package static let schemaTooNew = Self(.schemaTooNew)
            /// The store was shut down.
            package static let shutDown = Self(.shutDown)

            package var description: String { base.rawValue }
        }

        package var code: Code
        package var message: String
        /// The server's SQLSTATE, when it sent an error.
        package var sqlState: String?
        /// The constraint the server named (unique and foreign-key violations).
        package var constraint: String?

        /// SQLSTATE 25006 `read_only_sql_transaction`: a write sent to a standby or a read-only session.
        static let readOnlyTransaction = "25006"

        package init(code: Code, _ message: String, sqlState: String? = nil, constraint: String? = nil) {
            self.code = code
            self.message = message
            self.sqlState = sqlState
            self.constraint = constraint
        }

        package var description: String { "PostgreSQL store (\(code)): \(message)" }

        /// The server's unique-violation SQLSTATE.
        static let uniqueViolation = "23505"

        /// Translates postgres-nio's error; `doing` names the operation and statement.
        init(_ error: PSQLError, doing: String, at configuration: Configuration) {
            let server = "PostgreSQL at \(configuration.endpoint)"
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState]
                let message = error.serverInfo?[.message] ?? "unspecified error"
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                let code: Code =
                    switch state {
                    case "57014": .timedOut  // query_canceled: statement_timeout
                    case "28000", "28P01", "3D000", "53300", "57P01", "57P02", "57P03": .unavailable  // login, database, capacity, shutdown
                    default: .query
                    }
                let limit = state == "57014" ? " (statement_timeout reached)" : ""
                self.init(
                    code: code, "\(doing): \(server) answered \(message)\(detail)\(limit) [SQLSTATE \(state ?? "?")]",
                    sqlState: state, constraint: error.serverInfo?[.constraintName])
            case .connectionError:
                let cause = error.underlying.map { "\($0)" } ?? "connection failed"
                self.init(code: .unavailable, "\(doing): cannot connect to \(server) as \(configuration.username): \(cause)")
            case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                self.init(code: .unavailable, "\(doing): the connection to \(server) closed (\(error.code))")
            case .sslUnsupported:
                self.init(code: .unavailable, "\(doing): \(server) does not offer TLS, and sslmode=\(configuration.tls.rawValue) requires it")
            case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
                self.init(code: .unavailable, "\(doing): \(server) refused to log in \(configuration.username) (\(error.code))")
            case .poolClosed:
                self.init(code: .shutDown, "\(doing): the store is shut down")
            default:
                let cause = error.underlying.map { ": \($0)" } ?? ""
                self.init(code: .query, "\(doing): \(server) failed (\(error.code))\(cause)")
            }
        }

        init(_ error: PostgresDecodingError, reading: String) {
            self.init(
                code: .unexpectedData,
                "\(reading): column \(error.columnName) is \(error.postgresType), which does not read as \(error.targetType) (\(error.code))")
        }
    }
}
