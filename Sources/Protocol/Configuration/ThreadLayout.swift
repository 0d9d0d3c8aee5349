import Foundation

/// How a server spreads its work over threads: how many event loops it
/// runs, and whether Swift tasks run on them (`SCEPTER_TASK_EXECUTOR`).
///
/// One enrollment is a chain of short steps: the request arrives on an event
/// loop, its handler runs as a task, awaits Redis, the control plane or the
/// database (answered on an event loop), and writes the reply on an event
/// loop. When tasks run on Swift's cooperative pool, each step is a hand-off
/// between two threads: measured here, 35 thread switches per enrollment on
/// an edge. When tasks run on the event loops, a step resumes on the loop
/// that received its answer, and the chain stays on one thread.
package struct ThreadLayout: Sendable, Equatable {
    /// `SCEPTER_TASK_EXECUTOR`.
    package enum TaskExecutor: String, CaseIterable, Sendable {
        /// Swift tasks run on the event loops (the default).
        case eventLoops = "event-loops"
        /// Swift tasks run on Swift's cooperative pool, beside the event loops.
        case pool
    }

    package var executor: TaskExecutor
    package var eventLoops: Int
    /// NIO's own bound on its event loops.
    package static let maximumEventLoops = 1024

    /// The layout for `environment`:
    /// - `eventLoops`: `NIO_SINGLETON_GROUP_LOOP_COUNT` when set, a whole
    ///   number from 1 to 1024 (NIO alone would take `abc` for the CPU count
    ///   and `0` for 1 without a word, so it is checked here); otherwise one
    ///   per CPU this process may run on. `counted` is what NIO counts (a
    ///   cgroup's CPU quota or cpuset, else the machine's CPUs); `allowed` is
    ///   the process's affinity (`taskset`, systemd's `CPUAffinity=`, a CPU
    ///   manager's pinning), which NIO does not count.
    /// - `executor`: `SCEPTER_TASK_EXECUTOR`; an unknown value is a problem
    ///   in `settings`, and the default is used meanwhile.
    package static func load(_ settings: inout Settings, counted: Int, allowed: Int?) -> ThreadLayout {
        let perCPU = max(1, min(counted, allowed ?? counted))
        var layout = ThreadLayout(executor: .eventLoops, eventLoops: settings.integer("NIO_SINGLETON_GROUP_LOOP_COUNT", default: perCPU, minimum: 1))
        if layout.eventLoops > maximumEventLoops {
            settings.problem("NIO_SINGLETON_GROUP_LOOP_COUNT", "\(layout.eventLoops) is more than the \(maximumEventLoops) event loops NIO runs at most")
            layout.eventLoops = perCPU
        }
        if let text = settings.string("SCEPTER_TASK_EXECUTOR") {
            if let executor = TaskExecutor(rawValue: text.lowercased()) {
                layout.executor = executor
            } else {
                let known = TaskExecutor.allCases.map(\.rawValue).joined(separator: ", ")
                settings.problem("SCEPTER_TASK_EXECUTOR", "\"\(text)\" is not one of \(known)")
            }
        }
        return layout
    }
}

/// The CPUs this process may run on, as the kernel states them.
package enum CPUAffinity {
    /// How many CPUs `/proc/self/status` allows this process; nil when it cannot be read.
    package static func allowedCPUs(status path: String = "/proc/self/status") -> Int? {
        guard let status = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let prefix = "Cpus_allowed_list:"
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return count(list: line.dropFirst(prefix.count))
    }

    /// The CPUs in a kernel CPU list (`0-3,8,10-11`: 7); nil when it is not one.
    package static func count(list: Substring) -> Int? {
        var total = 0
        for item in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]), first >= 0, last >= first else {
                return nil
            }
            total += last - first + 1
        }
        return total > 0 ? total : nil
    }
}
