import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ScepterProtocol

/// Lays out a server's threads (`ThreadLayout`) before anything starts NIO's
/// event loops: their number, and Swift tasks on them unless
/// `SCEPTER_TASK_EXECUTOR=pool`.
enum ServerThreads {
    /// Applies the layout `environment` asks for, says so in one line of
    /// `logger`, and returns the problems found, for the preflight to report
    /// beside the role's own.
    static func configure(environment: [String: String], logger: Logger) -> [ConfigurationProblem] {
        var settings = Settings(environment: environment)
        let allowed = CPUAffinity.allowedCPUs()
        let layout = ThreadLayout.load(&settings, counted: System.coreCount, allowed: allowed)
        NIOSingletons.groupLoopCountSuggestion = layout.eventLoops
        let onLoops = layout.executor == .eventLoops && NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        logger.notice(
            "threads",
            metadata: [
                "event_loops": "\(layout.eventLoops)", "tasks": "\((onLoops ? ThreadLayout.TaskExecutor.eventLoops : .pool).rawValue)",
                "cpus_allowed": "\(allowed.map(String.init) ?? "unknown")",
            ])
        if layout.executor == .eventLoops && !onLoops {
            logger.warning("could not run Swift tasks on the event loops; they run on Swift's cooperative pool (SCEPTER_TASK_EXECUTOR)")
        }
        return settings.problems
    }
}

/// Runs each request on the event loop of its connection (the loop its
/// handler starts on: the one that read the request). With tasks on the
/// event loops, a task resumes on the loop that received the answer it
/// awaited; the shared connections (the one to Redis, a pooled one to the
/// control plane or PostgreSQL) live on one loop each, so without this every
/// handler would go on, with its RSA work, on the Redis connection's loop:
/// measured with two loops, one did 89 % of an edge's work. Pinned to the
/// connection's loop, handlers spread over the loops as connections do.
/// With one loop there is nothing to spread, and the pin would only add a
/// hop through the loop's task queue to every resumption: it is left out.
struct ConnectionLoopResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner
    let pinned: Bool

    func respond(to request: Request, context: Context) async throws -> Response {
        // Off the loops (SCEPTER_TASK_EXECUTOR=pool) there is no loop to keep.
        guard pinned, let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return try await inner.respond(to: request, context: context) }
        return try await withTaskExecutorPreference(EventLoopExecutor(loop)) { try await inner.respond(to: request, context: context) }
    }
}

/// `ConnectionLoopResponder` for a router.
struct OnConnectionLoop<Inner: HTTPResponderBuilder>: HTTPResponderBuilder {
    let inner: Inner

    func buildResponder() -> ConnectionLoopResponder<Inner.Responder> {
        ConnectionLoopResponder(inner: inner.buildResponder(), pinned: NIOSingletons.groupLoopCountSuggestion > 1)
    }
}

/// One event loop as a Swift task executor.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
