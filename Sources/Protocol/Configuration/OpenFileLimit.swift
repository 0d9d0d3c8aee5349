#if canImport(Glibc)
import Glibc
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`), against the connections
/// its listeners and pools may hold at once.
///
/// A process at the limit cannot accept: `accept` fails with EMFILE while
/// the connection stays queued, so the listening socket stays readable and
/// the event loop spins on it at full CPU without serving anything. The
/// roles therefore make sure, before they start, that everything they may
/// open fits: listeners stop accepting at `SCEPTER_MAX_CONNECTIONS` and the
/// pools have their own maxima, so the limit is never reached in use.
package enum OpenFileLimit {
    /// Descriptors a role holds besides the connections counted: listening
    /// sockets, the event loops' epoll, event and timer descriptors, the log,
    /// SQLite's files, Redis and the connections to Microsoft's services.
    package static let reserve = 128

    /// Raises the soft limit to the hard one when it is lower (what a shell's
    /// `ulimit -n` or a systemd unit usually leaves at 1024) and returns the
    /// soft limit then in force; nil when it cannot be read or is unlimited
    /// (`RLIM_INFINITY`, all ones).
    package static func raiseToHardLimit() -> Int? {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? nil : Int(clamping: limit.rlim_cur)
    }
}

extension ListenerLimits {
    /// Adds a problem naming `SCEPTER_MAX_CONNECTIONS` (and each pool) when `listeners` listeners at `maxConnections` each, the
    /// `pools` and the reserve need more open files than the process may
    /// have after raising its soft limit to the hard one.
    package func checkOpenFiles(listeners: Int, pools: [(name: String, connections: Int)], _ settings: inout Settings) {
        guard let available = OpenFileLimit.raiseToHardLimit() else { return }
        let need = listeners * maxConnections + pools.reduce(0) { $0 + $1.connections } + OpenFileLimit.reserve
        guard need > available else { return }
        let counted = ["\(listeners == 1 ? "one listener" : "\(listeners) listeners") of SCEPTER_MAX_CONNECTIONS=\(maxConnections)"]
            + pools.map { "\($0.connections) for \($0.name)" }
        settings.problem(
            "SCEPTER_MAX_CONNECTIONS",
            "\(counted.joined(separator: ", ")) and \(OpenFileLimit.reserve) for the process itself need up to \(need) open files, "
                + "but this process may open only \(available) (its hard limit, `ulimit -Hn`). Raise the limit (LimitNOFILE= in a "
                + "systemd unit, --ulimit nofile= for a container) or lower SCEPTER_MAX_CONNECTIONS: at the limit a listener "
                + "cannot accept and spins at full CPU")
    }
}
