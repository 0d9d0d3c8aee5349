import Foundation
import Glibc

/// `perf record` attached to the server for the measured phase (--profile),
/// with DWARF call graphs: Debian's libcrypto and the Swift runtime keep no
/// frame pointers, and the callers are what tell which server code pays.
/// perf itself runs on the load generator's CPU; its sampling interrupts
/// cost the server a little, evenly, so a profiled run's multiple is not
/// the figure to quote; its shares are (hot spots, and the embedded floor:
/// `CostFloor.fromProfile`).
final class Profiler {
    /// Debian's `linux-perf`; `CostFloor` reads the profile back with `perf script`.
    static let perf = "/usr/bin/perf"
    let process: Process

    init(pid: Int32, output: String, cpu: Int) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.perf) else {
            throw BenchError("--profile needs \(Self.perf): scripts/install-deps --bench (Debian's linux-perf)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", String(cpu), Self.perf, "record", "-F", "499", "--call-graph", "dwarf,16384", "-p", String(pid), "-o", output]
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        try process.run()
        usleep(500_000)  // let perf attach before the load starts
        guard process.isRunning else { throw BenchError("perf record exited at once (status \(process.terminationStatus))") }
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        note("profile written; read it with: perf report --no-children --sort symbol | swift demangle")
    }
}
