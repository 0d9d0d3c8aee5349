/// How every HTTP listener defends itself against clients that hold
/// connections open (slowloris) or open too many.
public struct ListenerLimits: Sendable, Hashable {
    /// `SCEPTER_REQUEST_TIMEOUT` (default 15 s): a connection must deliver
    /// each complete request (head and body) within this long of opening or
    /// of its previous answer, or it is closed. Idle keep-alive connections
    /// close after it too. Handling time (waiting for the control plane or
    /// Intune) does not count.
    public var requestTimeout: Duration
    /// `SCEPTER_MAX_CONNECTIONS` (default 1000): connections served at once;
    /// more wait in the listen backlog until one closes. Keep it below the
    /// process's open-file limit (`ulimit -n`).
    public var maxConnections: Int

    public init(requestTimeout: Duration = .seconds(15), maxConnections: Int = 1000) {
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
    }

    public static func load(_ settings: inout Settings) -> ListenerLimits {
        var limits = ListenerLimits()
        limits.requestTimeout = settings.duration("SCEPTER_REQUEST_TIMEOUT", default: limits.requestTimeout)
        if limits.requestTimeout < .seconds(1) {
            settings.problem("SCEPTER_REQUEST_TIMEOUT", "must be at least 1s (clients on slow links need time to send a request)")
        }
        limits.maxConnections = settings.integer("SCEPTER_MAX_CONNECTIONS", default: limits.maxConnections, minimum: 1)
        return limits
    }
}
