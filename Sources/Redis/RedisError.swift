/// A failure of the Redis client: configuration, connection, timeout, or an
/// error reply from the server.
///
/// Messages never contain the password of the configured URL.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidURL = "invalid URL"
            case connectionFailed = "connection failed"
            case connectionClosed = "connection closed"
            case timeout = "timeout"
            case protocolError = "protocol error"
            case server = "server error"
            case clientClosed = "client closed"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `SCEPTER_REDIS_URL` (or the URL given) cannot be used.
        public static let invalidURL = Code(.invalidURL)
        /// Could not connect, authenticate or select the database.
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection closed before the reply arrived; the command may or
        /// may not have run.
        public static let connectionClosed = Code(.connectionClosed)
        /// No reply within the command timeout (the connection is then dropped).
        public static let timeout = Code(.timeout)
        /// The server sent bytes that are not RESP.
        public static let protocolError = Code(.protocolError)
        /// The server answered with an error reply (`message` holds it).
        public static let server = Code(.server)
        /// `close()` was called on the client.
        public static let clientClosed = Code(.clientClosed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Human-readable detail: for `.server`, the error reply itself (e.g.
    /// "NOSCRIPT No matching script").
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "redis \(code): \(message)" }
}
