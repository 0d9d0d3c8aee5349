import Foundation
import Synchronization

/// Runs external tools (openssl, the Go interop client) for independent checks.
public enum Shell {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The longest any tool may run: past it, it and everything it started are killed.
    public static let defaultTimeout: Duration = .seconds(1200)

    private static let timeoutTool = "/usr/bin/timeout"

    /// Runs the tool and waits for it on the calling thread; only ever on a
    /// thread of its own (`run`).
    private static func runBlocking(
        _ executable: String, _ arguments: [String], environment: [String: String]?, timeout: Duration,
        started: (Process) -> Void
    ) throws -> Result {
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: timeoutTool) {
            process.executableURL = URL(fileURLWithPath: timeoutTool)
            process.arguments = ["--kill-after=10", "\(max(1, timeout.components.seconds))s", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        let out = ChildProcessPipes.make()
        let err = ChildProcessPipes.make()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try ChildProcessPipes.run(process)
        started(process)
        // Read both pipes at once, before waiting, so a chatty tool cannot fill one and block.
        let stderr = Mutex(Data())
        let readingStderr = DispatchGroup()
        readingStderr.enter()
        Thread.detachNewThread {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            stderr.withLock { $0 = data }
            readingStderr.leave()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        readingStderr.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr.withLock { $0 }, as: UTF8.self))
    }

    /// Runs `executable` with `arguments` and waits for it to exit, at most
    /// `timeout`: GNU `timeout` runs it in a process group of its own and
    /// kills the whole group then (SIGTERM, SIGKILL 10 s later), so neither
    /// the tool nor a server it started can hold the test forever. Exit
    /// status 124 or 137 then. Standard input is /dev/null.
    ///
    /// The wait happens on a thread of its own, never on one of the
    /// cooperative pool's two threads: the tests run all at once on that
    /// pool, and a test blocked there holds up every other (in-process HTTP
    /// stand-ins missed their deadlines while tools ran). Cancelling the
    /// task (a test past its time limit) stops the tool and what it started.
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = defaultTimeout
    ) async throws -> Result {
        let launched = Mutex<(pid: Int32?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await offPool {
                try runBlocking(executable, arguments, environment: environment, timeout: timeout) { process in
                    let cancelled = launched.withLock { $0.pid = process.processIdentifier; return $0.cancelled }
                    if cancelled { killGroup(of: process.processIdentifier) }
                }
            }
        } onCancel: {
            let pid = launched.withLock { $0.cancelled = true; return $0.pid }
            if let pid { killGroup(of: pid) }
        }
    }

    /// SIGKILL to `timeout`'s process group (it leads one, with everything it
    /// started) and to `timeout` itself, in case it has not made the group yet.
    private static func killGroup(of pid: Int32) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
    }

    /// Runs a command that leaves a daemon behind (`pg_ctl start`) and
    /// returns its exit status. Foundation's `Process` cannot: it learns of
    /// a child's exit from a descriptor the child inherits, which the daemon
    /// would keep open forever. Here the child gets only stdin (/dev/null)
    /// and stdout/stderr (appended to `log`); every other descriptor is
    /// closed in it, and the wait happens on a thread of its own.
    public static func runLogged(_ executable: String, _ arguments: [String], log: URL) async throws -> Int32 {
        try await offPool {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            // bash closes every descriptor above 2 (whatever other threads
            // opened without close-on-exec), then becomes the command.
            let closer = #"for fd in /proc/self/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null; exec "$@""#
            let argv = (["/bin/bash", "-c", closer, "closer", executable] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ)
            guard spawned == 0 else { throw StartFailure(description: "posix_spawn \(executable): errno \(spawned)") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS, which Swift does not import.
            return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -(status & 0x7f)
        }
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `openssl` with arguments.
    @discardableResult
    public static func openssl(_ arguments: String...) async throws -> Result {
        try await run("/usr/bin/openssl", arguments)
    }

    /// Runs blocking work (waiting for a process, generating keys) on a
    /// thread of its own and returns its result, for the reason `run` gives.
    public static func offPool<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
        }
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }
}
