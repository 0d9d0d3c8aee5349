extension RedisClient {
    /// Where and how to reach Redis: the parts of `redis://[[user]:password@]host[:port][/db]`
    /// plus the timeouts.
    package struct Configuration: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
        package var host: String
        /// Default 6379.
        package var port: Int
        /// The logical database selected after connecting; default 0.
        package var database: Int
        /// ACL user (Redis 6+); nil authenticates as `default` when a password is set.
        package var username: String?
        /// Sent with `AUTH`; never logged, never part of `description` or errors.
        package var password: String?
        /// Bound on TCP connect; authentication and `SELECT` then run under `commandTimeout`.
        package var connectTimeout: Duration
        /// Bound on each command's round trip. A command that times out drops its
        /// connection (the next command reconnects), since a late reply would
        /// otherwise be paired with the wrong caller. A command that has to
        /// connect first waits at most `connectTimeout` + 2 × `commandTimeout`
        /// (the second for AUTH/SELECT).
        package var commandTimeout: Duration
        /// `rediss://`: TLS, the server's certificate verified against
        /// `tlsCAPath` (or the system's roots) and its name (or IP address).
        package var tls: Bool = false
        /// `SCEPTER_REDIS_CA_PATH`: PEM bundle the server's certificate must chain to.
        package var tlsCAPath: String?
        /// How often a live connection's server is checked again as at
        /// connection (`ReplicationRole`, `EvictionPolicy`): a policy changed
        /// with `CONFIG SET`, or in a managed service's console, is seen
        /// within this long. One `INFO` a minute per connection.
        package var serverCheckInterval: Duration = .seconds(60)

        package init(
            host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
            connectTimeout: Duration = .seconds(3), commandTimeout: Duration = .seconds(2)
        ) {
            self.host = host
            self.port = port
            self.database = database
            self.username = username
            self.password = password
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
        }

        /// Parses `redis://[[user]:password@]host[:port][/db]` (the form of
        /// `SCEPTER_REDIS_URL`), or `rediss://…` for TLS. User and password
        /// may be percent-encoded; an IPv6 host goes in brackets. Unix sockets
        /// and query options are not supported and are rejected with a reason.
        package init(url: String, connectTimeout: Duration = .seconds(3), commandTimeout: Duration = .seconds(2)) throws {
            func invalid(_ reason: String) -> RedisError { RedisError(.invalidURL, reason) }
            let schemeEnd = url.firstRange(of: "://")
            guard let schemeEnd else { throw invalid("expected redis://host[:port][/db]") }
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "redis" || scheme == "rediss" else {
                throw invalid("unsupported scheme \"\(scheme)\"; expected redis:// or rediss:// (TLS)")
            }
            var rest = url[schemeEnd.upperBound...]
            guard !rest.contains("?"), !rest.contains("#") else {
                throw invalid("query and fragment are not supported; the database goes in the path (redis://host:6379/0)")
            }
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            rest = rest[authorityEnd...]

            var username: String?
            var password: String?
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                authority = authority[authority.index(after: at)...]
                guard let colon = userinfo.firstIndex(of: ":") else {
                    throw invalid("credentials need a colon: redis://:password@host or redis://user:password@host")
                }
                guard let user = Self.percentDecoded(userinfo[..<colon]),
                    let secret = Self.percentDecoded(userinfo[userinfo.index(after: colon)...])
                else { throw invalid("bad percent-encoding in the credentials") }
                username = user.isEmpty ? nil : user
                password = secret.isEmpty ? nil : secret
                if username != nil, password == nil { throw invalid("a user needs a password") }
            }

            var host: Substring
            var portText: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                    portText = after.dropFirst()
                }
            } else if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw invalid("missing host") }
            var port = 6379
            if let portText {
                guard let value = Self.decimal(portText), (1...65535).contains(value) else {
                    throw invalid("port \"\(portText)\" is not a number from 1 to 65535")
                }
                port = value
            }

            var database = 0
            let path = rest.drop(while: { $0 == "/" })
            if !path.isEmpty {
                guard let value = Self.decimal(path) else {
                    throw invalid("database \"\(path)\" is not a non-negative number (redis://host:6379/0)")
                }
                database = value
            }

            self.init(
                host: String(host), port: port, database: database, username: username, password: password,
                connectTimeout: connectTimeout, commandTimeout: commandTimeout)
            self.tls = scheme == "rediss"
        }

        /// The URL with the password masked: safe to log.
        package var description: String {
            let hostPart = host.contains(":") ? "[\(host)]" : host
            var credentials = ""
            if password != nil { credentials = "\(username ?? ""):***@" }
            return "\(tls ? "rediss" : "redis")://\(credentials)\(hostPart):\(port)/\(database)"
        }

        /// Mirrors (`dump`, debuggers' summaries) show the password masked too.
        package var customMirror: Mirror {
            Mirror(
                self,
                children: [
                    "host": host, "port": port, "database": database, "username": username as Any,
                    "password": password == nil ? "nil" : "***", "connectTimeout": connectTimeout,
                    "commandTimeout": commandTimeout,
                ])
        }

        /// Plain ASCII digits only (no sign, no spaces).
        private static func decimal(_ text: Substring) -> Int? {
            guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            return Int(text)
        }

        private static func percentDecoded(_ text: Substring) -> String? {
            var bytes: [UInt8] = []
            var iterator = text.utf8.makeIterator()
            while let byte = iterator.next() {
                guard byte == UInt8(ascii: "%") else {
                    bytes.append(byte)
                    continue
                }
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            }
            return String(validating: bytes, as: UTF8.self)
        }

        private static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}
