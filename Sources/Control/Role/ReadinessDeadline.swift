import Synchronization

/// The control plane's `/readyz` answers within `limit` however long a store
/// takes to fail: an edge gives it one second (`ControlPlaneClient.unreadiness`),
/// and Kubernetes probes a few, while a PostgreSQL that stopped answering
/// holds a connection attempt for its whole `connect_timeout`.
enum ReadinessDeadline {
    static let limit = Duration.milliseconds(750)

    /// The check's answer, or nil when it has none within `limit`; the late
    /// check is then cancelled (and, where it ignores that, ends unobserved),
    /// as is the timer of one that answered.
    static func answer<Value: Sendable>(_ check: @escaping @Sendable () async -> Value) async -> Value? {
        let first = First<Value?>()
        return await withCheckedContinuation { continuation in
            first.wait(continuation)
            let checking = Task { await check() }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                first.finish(nil)
                checking.cancel()
            }
            Task {
                let value = await checking.value
                timer.cancel()
                first.finish(value)
            }
        }
    }

    /// Resumes its continuation with the first value it is given.
    private final class First<Value: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

        func wait(_ continuation: CheckedContinuation<Value, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        func finish(_ value: Value) {
            continuation.withLock { $0.take() }?.resume(returning: value)
        }
    }
}
