/// A failure of the Redis client: configuration, connection, timeout, or an
/// error reply from the server.
///
/// Messages never contain the password of the configured URL.
package struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidURL = "invalid URL"
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case timeout = "timeout"
            case protocolError = "protocol error"
            case server = "server error"
            case clientClosed = "client closed"
            case tlsFailed = "TLS handshake failed"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `SCEPTER_REDIS_URL` (or the URL given) cannot be used.
        package static let invalidURL = Code(.invalidURL)
        /// Could not connect, authenticate or select the database.
        package static let connectionFailed = Code(.connectionFailed)
        /// The connection closed before the reply arrived; the command may or
        /// may not have run.
        package static let connectionClosed = Code(.connectionClosed)
        /// No reply within the command timeout (the connection is then dropped).
        package static let timeout = Code(.timeout)
        /// The server sent bytes that are not RESP.
        package static let protocolError = Code(.protocolError)
        /// The server answered with an error reply (`message` holds it).
        package static let server = Code(.server)
        /// `close()` was called on the client.
        package static let clientClosed = Code(.clientClosed)
        /// `rediss://`: the server's certificate did not verify, or TLS itself failed.
        package static let tlsFailed = Code(.tlsFailed)

        package var description: String { base.rawValue }
    }

    package var code: Code
    /// Human-readable detail: for `.server`, the error reply itself (e.g.
    /// "NOSCRIPT No matching script").
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "redis \(code): \(message)" }
}
