import Foundation
import Synchronization

/// A real `scepter edge` or `scepter control` process, started with an
/// environment and followed through its output: the port it listens on, its
/// log (for failure messages) and its exit.
public final class RoleProcess: Sendable {
    public let role: String
    public let port: Int
    private let process: Process
    private let state: State

    /// What the output reader and the termination handler share with the test.
    private final class State: Sendable {
        let output = Mutex("")
        let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public var pid: Int32 { process.processIdentifier }
    public var log: String { state.output.withLock { $0 } }
    public var isRunning: Bool { state.exit.withLock { $0.status == nil } }

    /// Starts `scepter <role>` and returns once it prints the address it listens on (up to 60 s).
    public static func start(_ role: String, environment: [String: String]) async throws -> RoleProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DevServerProcess.binary)
        process.arguments = [role]
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SCEPTER_") || $0.key.hasPrefix("SCEPTER_TEST_") }
        // Info: every line a production log would carry, for the cluster tests' secret scan.
        merged["SCEPTER_LOG_LEVEL"] = "info"
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let pipe = ChildProcessPipes.make()
        process.standardOutput = pipe
        process.standardError = pipe

        let state = State()
        process.terminationHandler = { finished in
            let status = finished.terminationReason == .uncaughtSignal ? -finished.terminationStatus : finished.terminationStatus
            let waiters = state.exit.withLock { state in
                state.status = status
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: status) }
        }
        try ChildProcessPipes.run(process)

        // Read the output on a thread of its own to its end (the pipe never
        // fills); report the port once the listening line appears, or nil at
        // the end of the output or after `startTimeout`, whichever comes first.
        let port = await ResumeOnce<Int?>.wait(timeout: startTimeout, fallback: nil) { report in
            Thread.detachNewThread {
                let handle = pipe.fileHandleForReading
                var reported = false
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    let text = state.output.withLock { log in
                        log += String(decoding: chunk, as: UTF8.self)
                        return log
                    }
                    if !reported, let port = Self.listeningPort(in: text) {
                        reported = true
                        report.resume(port)
                    }
                }
                report.resume(nil)
            }
        }
        let started = RoleProcess(role: role, port: port ?? 0, process: process, state: state)
        guard port != nil else {
            // Silent or stuck past the deadline, or its output closed: it must not outlive the test.
            if started.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw StartError(description: "scepter \(role) did not start (exit \(await started.waitForExit())):\n\(started.log)")
        }
        return started
    }

    /// How long `start` waits for the listening line.
    static let startTimeout: TimeInterval = 60

    private init(role: String, port: Int, process: Process, state: State) {
        self.role = role
        self.port = port
        self.process = process
        self.state = state
    }

    static func listeningPort(in text: String) -> Int? {
        // Our banner only: Hummingbird logs "listening on" for every listener, the internal one included.
        bannerPort(after: "listening on 127.0.0.1:", in: text)
    }

    /// The port after `marker` on the first of Scepter's own banner lines
    /// ("Scepter …") that holds it.
    static func bannerPort(after marker: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("Scepter ") {
            if let range = line.range(of: marker), let port = Int(line[range.upperBound...].prefix(while: \.isNumber)) { return port }
        }
        return nil
    }

    /// The port of the internal listener (`SCEPTER_*_INTERNAL_LISTEN`, port 0
    /// for one the kernel picks), from its banner: it binds as a service
    /// beside the main listener, so a moment after `start` returns; nil if
    /// no banner within `timeout`.
    public func internalListenerPort(timeout: Duration = .seconds(30)) async -> Int? {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if let port = Self.bannerPort(after: "internal listener (metrics, readiness) on 127.0.0.1:", in: log) { return port }
            try? await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline && isRunning
        return nil
    }

    /// The exit status (negative: killed by that signal).
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.exit.withLock { exit in
                if exit.status == nil { exit.waiters.append(continuation) }
                return exit.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// SIGTERM, then the exit status; SIGKILL if it has not exited within `grace`.
    @discardableResult
    public func terminate(grace: Duration = .seconds(30)) async -> Int32 {
        guard isRunning else { return await waitForExit() }
        kill(process.processIdentifier, SIGTERM)
        let killer = Task {
            try await Task.sleep(for: grace)
            kill(self.process.processIdentifier, SIGKILL)
        }
        let status = await waitForExit()
        killer.cancel()
        return status
    }

    /// SIGKILL: the process gets no chance to finish anything.
    public func kill9() async {
        guard isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await waitForExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
