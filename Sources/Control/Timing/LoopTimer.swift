import NIOCore
import NIOPosix

/// Runs a callback once after a delay, on one of NIO's event loops, unless
/// cancelled first. For deadlines that are set on every request and almost
/// always cancelled.
///
/// `Task.sleep` is the wrong tool there: NIO's executor takes no delayed jobs,
/// so each sleep arms a Dispatch timer, which wakes Dispatch's manager thread
/// to arm it and a worker thread when it fires, even after the sleep was
/// cancelled. With a sleep per statement and per enrollment, that was 15 % of
/// the control plane's CPU (Benchmarks/HISTORY.md). A loop's timer is an entry
/// in a heap on a thread that is awake anyway; cancelling removes it.
///
/// The deeper fix is an executor on the event loops that takes delayed jobs,
/// so every sleep (PostgresNIO's pool timers too) becomes a loop timer; in
/// Swift 6.3 that protocol (`SchedulingExecutor`, with `ExecutorFactory`) is
/// experimental SPI only. When it is public, this type can go.
package struct LoopTimer: Sendable {
    private let scheduled: Scheduled<Void>

    package init(after delay: Duration, _ fire: @escaping @Sendable () -> Void) {
        scheduled = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(delay), fire)
    }

    package func cancel() {
        scheduled.cancel()
    }
}
