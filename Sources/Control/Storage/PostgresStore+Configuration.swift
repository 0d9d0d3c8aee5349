import Foundation
import PostgresNIO
import ScepterProtocol

extension PostgresStore {
    /// Where the control plane's PostgreSQL is and how long to wait for it.
    ///
    /// Usually parsed from `SCEPTER_DATABASE_URL` with ``init(url:)``. The
    /// `description` never contains the password: log it freely.
    package struct Configuration: Sendable, CustomStringConvertible {
        /// libpq's `sslmode`, minus `allow`.
        package enum TLSMode: String, Sendable, CaseIterable {
            /// Plain TCP.
            case disable
            /// TLS if the server offers it, without verifying its certificate (libpq's default).
            case prefer
            /// TLS or fail, without verifying the server's certificate.
            case require
            /// TLS; the server's chain must lead to a trusted root (`sslrootcert` or the system's).
            case verifyCA = "verify-ca"
            /// As `verifyCA`, and the certificate must name `host`.
            case verifyFull = "verify-full"
        }

        package var host: String
        package var port: Int
        package var username: String
        package var password: String?
        package var database: String
        package var tls: TLSMode
        /// PEM file of the roots that `verify-ca` / `verify-full` trust; nil: the system's.
        package var tlsRootCertificatePath: String?
        /// Reported to the server as `application_name` (shows in `pg_stat_activity`).
        package var applicationName: String

        /// How long to wait for a connection: TCP connect, and a free pooled
        /// connection for an operation. Default 5 s.
        package var connectTimeout: Duration = .seconds(5)
        /// The server's `statement_timeout`, and (plus one second) the client's
        /// limit on one operation once it has a connection; past it the
        /// connection is closed. The server also ends a session idle in a
        /// transaction for twice this, at least a minute (a client that
        /// vanished mid-transaction). Default 10 s.
        package var queryTimeout: Duration = .seconds(10)
        /// Limit on applying migrations, waiting for another replica's included. Default 60 s.
        package var migrationTimeout: Duration = .seconds(60)
        /// Pool size. Default 10. A connection opened for a burst is kept
        /// for `idleTimeout` after its last use (see `clientConfiguration`).
        package var maximumConnections: Int = 10
        /// How long a pooled connection may stay unused before it is closed
        /// (see `clientConfiguration` for why not longer).
        static let idleTimeout: Duration = .seconds(60)

        package init(
            host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
            tls: TLSMode = .prefer, tlsRootCertificatePath: String? = nil, applicationName: String = "scepter-control"
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.tlsRootCertificatePath = tlsRootCertificatePath
            self.applicationName = applicationName
        }

        /// Parses `postgres://user:password@host:port/database?sslmode=disable`
        /// (`postgresql://` too). Query parameters: `sslmode` (default
        /// `prefer`), `sslrootcert`, `connect_timeout` (seconds),
        /// `application_name`. User and password may be percent-encoded.
        /// Errors never repeat the password. `defaultConnectTimeout` applies
        /// when the URL has no `connect_timeout`.
        package init(url: String, defaultConnectTimeout: Duration = .seconds(5)) throws(Error) {
            func refuse(_ message: String) -> Error { Error(code: .invalidConfiguration, message) }

            guard let components = URLComponents(string: url), let scheme = components.scheme else {
                throw refuse("is not a URL (expected postgres://user:password@host:5432/database)")
            }
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw refuse("scheme \"\(scheme)\" is not postgres:// or postgresql://")
            }
            // An IPv6 literal keeps its brackets in URLComponents.
            guard let host = components.host?.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), !host.isEmpty else {
                throw refuse("has no host (expected postgres://user:password@host:5432/database)")
            }
            guard let username = components.user, !username.isEmpty else {
                throw refuse("has no user name (expected postgres://user:password@\(host)/database)")
            }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else {
                throw refuse("port \(port) is not in 1-65535")
            }
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            guard !path.isEmpty else {
                throw refuse("has no database name (expected postgres://\(username)@\(host):\(port)/database)")
            }
            guard !path.contains("/") else {
                throw refuse("database name \"\(path)\" contains a slash")
            }
            self.init(host: host, port: port, username: username, password: components.password, database: path)
            connectTimeout = defaultConnectTimeout

            var problems: [String] = []
            for item in components.queryItems ?? [] {
                let value = item.value ?? ""
                switch item.name {
                case "sslmode":
                    if let mode = TLSMode(rawValue: value) {
                        tls = mode
                    } else {
                        let known = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                        problems.append("sslmode=\(value) is not one of \(known)")
                    }
                case "sslrootcert":
                    tlsRootCertificatePath = value
                case "connect_timeout":
                    if let seconds = Int(value), seconds > 0 {
                        connectTimeout = .seconds(seconds)
                    } else {
                        problems.append("connect_timeout=\(value) is not a positive number of seconds")
                    }
                case "application_name":
                    applicationName = value
                default:
                    problems.append("unknown parameter \"\(item.name)\" (supported: sslmode, sslrootcert, connect_timeout, application_name)")
                }
            }
            if tlsRootCertificatePath != nil && (tls != .verifyCA && tls != .verifyFull) {
                problems.append("sslrootcert needs sslmode=verify-ca or verify-full (it is \(tls.rawValue))")
            }
            if !problems.isEmpty { throw refuse(problems.joined(separator: "; ")) }
        }

        /// The URL without the password, for logs and errors.
        package var description: String {
            let user = username + (password == nil ? "" : ":***")
            return "postgres://\(user)@\(endpoint)/\(database)?sslmode=\(tls.rawValue)"
        }

        /// `host:port`, bracketing IPv6 literals.
        var endpoint: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }

        /// Settings sent in the startup message: the server enforces the timeouts.
        var startupParameters: [(String, String)] {
            let idleInTransaction = max(queryTimeout * 2, .seconds(60))
            return [
                ("application_name", applicationName),
                ("statement_timeout", String(Self.milliseconds(queryTimeout))),
                ("idle_in_transaction_session_timeout", String(Self.milliseconds(idleInTransaction))),
            ]
        }

        static func milliseconds(_ duration: Duration) -> Int64 {
            let (seconds, attoseconds) = duration.components
            return seconds * 1000 + attoseconds / 1_000_000_000_000_000
        }

        /// Why a start should warn: a database on another host reached without
        /// verifying its certificate (`sslmode` other than `verify-full` or
        /// `verify-ca`), so whoever sits on the path can read the audit log.
        package var unverifiedServerWarning: String? {
            let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
            guard !loopback, tls != .verifyFull, tls != .verifyCA else { return nil }
            return "SCEPTER_DATABASE_URL: PostgreSQL at \(host) is reached with sslmode=\(tls.rawValue), which does not verify the server's "
                + "certificate; set sslmode=verify-full&sslrootcert=/path/to/ca.pem"
        }

        func tlsConfiguration() -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            switch tls {
            case .disable, .prefer, .require:
                configuration.certificateVerification = .none
            case .verifyCA:
                configuration.certificateVerification = .noHostnameVerification
            case .verifyFull:
                configuration.certificateVerification = .fullVerification
            }
            if let tlsRootCertificatePath {
                configuration.trustRoots = .file(tlsRootCertificatePath)
            }
            return configuration
        }

        /// The pool's configuration.
        func clientConfiguration() -> PostgresClient.Configuration {
            let mode: PostgresClient.Configuration.TLS =
                switch tls {
                case .disable: .disable
                case .prefer: .prefer(tlsConfiguration())
                case .require, .verifyCA, .verifyFull: .require(tlsConfiguration())
                }
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: mode)
            configuration.options.connectTimeout = connectTimeout
            configuration.options.maximumConnections = maximumConnections
            // Every time a connection goes back to the pool, postgres-nio
            // 1.33.2 starts an idle timer (a task sleeping this long) and
            // cancels it when the connection is lent again; the cancelled
            // task keeps its memory until its sleep would have ended. So a
            // replica holds (connections lent per second) x (this timeout)
            // of them: with ten minutes, 74 000 after twelve minutes of the
            // soak. A minute (postgres-nio's default) bounds that; the price
            // is that under bursty load a connection unused for a minute
            // closes and is opened again (a fork and an authentication on
            // the database) for the next burst.
            configuration.options.connectionIdleTimeout = Self.idleTimeout
            // No keep-alive pings. With no minimum pool size every connection
            // is subject to the idle close, so none stays unused longer than
            // `idleTimeout`, far below the idle limits of NATs, load
            // balancers and firewalls (minutes): pings would find nothing
            // those do not. A minimum above 0 would need them back. And in
            // postgres-nio 1.33.2 they cost a shutdown:
            // a connection's second ping (30 s) falls due with its idle close
            // (60 s), and when the close wins, the ping is still sent on the
            // closed connection, where its query is never answered; the pool
            // then waits for it at shutdown until `PostgresStore.run()`'s
            // bound (a third of the control plane's SIGTERMs in the soaks
            // took 3.1 s, each with a ping logged after its connection closed).
            configuration.options.minimumConnections = 0
            configuration.options.keepAliveBehavior = nil
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }

        /// A single connection's configuration (migrations run on their own connection).
        func connectionConfiguration() throws(Error) -> PostgresConnection.Configuration {
            let mode: PostgresConnection.Configuration.TLS
            do {
                switch tls {
                case .disable: mode = .disable
                case .prefer: mode = .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
                case .require, .verifyCA, .verifyFull: mode = .require(try NIOSSLContext(configuration: tlsConfiguration()))
                }
            } catch {
                throw Error(code: .invalidConfiguration, "TLS setup for \(self) failed: \(error)")
            }
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: mode)
            let (seconds, attoseconds) = connectTimeout.components
            configuration.options.connectTimeout = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }
    }
}

extension Settings {
    /// `name` (default `SCEPTER_DATABASE_URL`, or its `_FILE`) parsed as a
    /// PostgreSQL URL; a problem is recorded when it is missing or wrong.
    package mutating func postgres(
        _ name: String = "SCEPTER_DATABASE_URL", defaultConnectTimeout: Duration = .seconds(5)
    ) -> PostgresStore.Configuration? {
        guard let url = secret(name) else {
            problem(name, "is required (postgres://user:password@host:5432/database)")
            return nil
        }
        do {
            return try PostgresStore.Configuration(url: url, defaultConnectTimeout: defaultConnectTimeout)
        } catch {
            problem(name, error.message)
            return nil
        }
    }
}
