import ServiceLifecycle

/// Runs a service's work so that a dependency that never finishes cannot
/// hold up the process's exit.
enum BoundedShutdown {
    /// Runs `work` in a task of its own (inheriting the caller's graceful
    /// shutdown) until the caller's graceful shutdown or cancellation; then
    /// calls `stopping`, cancels `work` and waits at most `budget` for it to
    /// return. True when it returned in time, false when it was left
    /// behind (still running; the process exit ends it).
    static func run(
        within budget: Duration, stopping: @escaping @Sendable () -> Void, _ work: @escaping @Sendable () async -> Void
    ) async -> Bool {
        // One report: true when `work` returns, false once `budget` has
        // passed since shutdown began.
        let (reports, report) = AsyncStream<Bool>.makeStream()
        let task = Task {
            await work()
            report.yield(true)
        }
        // Awaited as a task's value, so cancelling the caller does not cut the wait short.
        let firstReport = Task { await reports.first { _ in true } ?? false }
        let returned = await withTaskCancellationOrGracefulShutdownHandler {
            await firstReport.value
        } onCancelOrGracefulShutdown: {
            stopping()
            task.cancel()
            Task {
                try? await Task.sleep(for: budget)
                report.yield(false)
            }
        }
        report.finish()
        return returned
    }
}
