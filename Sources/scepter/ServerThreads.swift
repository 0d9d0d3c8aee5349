import Foundation
import Logging
import NIOCore
import NIOPosix
import ScepterProtocol

/// Lays out a server's threads (`ThreadLayout`) before anything starts NIO's
/// event loops: their number, and Swift tasks on them unless
/// `SCEPTER_TASK_EXECUTOR=pool`.
enum ServerThreads {
    /// Applies the layout `environment` asks for; returns it and the problems
    /// found, for the preflight to report beside the role's own.
    static func configure(environment: [String: String]) -> (layout: ThreadLayout, installed: Bool, problems: [ConfigurationProblem]) {
        var settings = Settings(environment: environment)
        let layout = ThreadLayout.load(&settings, counted: System.coreCount, allowed: CPUAffinity.allowedCPUs())
        if let loops = layout.eventLoops { NIOSingletons.groupLoopCountSuggestion = loops }
        var installed = false
        if layout.executor == .eventLoops {
            installed = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        return (layout, installed, settings.problems)
    }

    /// One line at start saying what `configure` did.
    static func log(_ layout: ThreadLayout, installed: Bool, to logger: Logger) {
        let tasks = installed ? ThreadLayout.TaskExecutor.eventLoops : .pool
        logger.notice(
            "threads",
            metadata: [
                "event_loops": "\(NIOSingletons.groupLoopCountSuggestion)", "tasks": "\(tasks.rawValue)",
                "cpus_allowed": "\(CPUAffinity.allowedCPUs().map(String.init) ?? "unknown")",
            ])
        if layout.executor == .eventLoops && !installed {
            logger.warning("could not run Swift tasks on the event loops; they run on Swift's cooperative pool (SCEPTER_TASK_EXECUTOR)")
        }
    }
}
