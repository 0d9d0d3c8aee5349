/// The Redis stream that carries audit events from the edges to the control
/// plane (SPEC §7): one place for its name and its bound.
public enum AuditStream {
    public static let name = "scepter:audit"
    /// Events not yet copied at which edges refuse new ones (and answer 503)
    /// rather than let anything be dropped; about 1 GB of Redis memory.
    public static let maxBacklog = 1_000_000
}
