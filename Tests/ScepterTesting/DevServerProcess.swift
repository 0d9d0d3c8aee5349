import Foundation

/// A real `scepter dev` process on a free loopback port, for tests that talk
/// to it the way devices do.
public final class DevServerProcess: @unchecked Sendable {
    // @unchecked: the Process is only touched from init and terminate().
    public let process: Process
    public let dataDirectory: URL
    public let port: Int
    public let challenge: String

    public var scepURL: String { "http://127.0.0.1:\(port)/scep" }
    public var caCertificatePath: String { dataDirectory.appendingPathComponent("ca.pem").path }

    /// The package root, found from this file's location.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `scepter` executable of the build that made these tests. SwiftPM
    /// puts the test bundle (`scepterPackageTests.xctest`, an executable on
    /// Linux) in the build's bin directory beside the products, so it is
    /// found from the running bundle whatever the configuration, triple or
    /// `--scratch-path`; `.build/debug/scepter` under the package root otherwise.
    public static let binary: String = {
        let beside = [
            Bundle.main.executableURL, ProcessInfo.processInfo.arguments.first.map { URL(fileURLWithPath: $0) },
            Bundle(for: DevServerProcess.self).bundleURL,
        ].compactMap { $0?.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("scepter").path }
        return beside.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? packageRoot.appendingPathComponent(".build/debug/scepter").path
    }()

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Where the process's standard error (its log) goes; nil: the test's own.
    public let standardErrorFile: URL?

    /// Starts `scepter dev` and waits for its banner (up to 60 s), on a
    /// thread of its own (`Shell.run` says why). With `standardErrorFile`,
    /// its log is written to that file instead of the test's standard error.
    /// A `launcher` (`["/usr/bin/prlimit", "--nofile=256:4096"]`) runs it with
    /// the binary and its arguments after its own.
    public static func start(
        dataDirectory: URL? = nil, environment: [String: String] = [:], standardErrorFile: URL? = nil, launcher: [String] = []
    ) async throws -> DevServerProcess {
        try await Shell.offPool {
            try DevServerProcess(dataDirectory: dataDirectory, environment: environment, standardErrorFile: standardErrorFile, launcher: launcher)
        }
    }

    private init(dataDirectory: URL?, environment: [String: String], standardErrorFile: URL?, launcher: [String]) throws {
        let directory = try dataDirectory ?? Shell.temporaryDirectory()
        self.dataDirectory = directory
        self.standardErrorFile = standardErrorFile
        let process = Process()
        let command = launcher + [Self.binary, "dev", "--data-dir", directory.path, "--port", "0", "--host", "127.0.0.1"]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var merged = ProcessInfo.processInfo.environment
        merged["SCEPTER_LOG_LEVEL"] = merged["SCEPTER_LOG_LEVEL"] ?? "warning"
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let output = ChildProcessPipes.make()
        process.standardOutput = output
        if let standardErrorFile {
            guard FileManager.default.createFile(atPath: standardErrorFile.path, contents: nil) else {
                throw StartError(description: "cannot create \(standardErrorFile.path)")
            }
            process.standardError = try FileHandle(forWritingTo: standardErrorFile)
        } else {
            process.standardError = FileHandle.standardError
        }
        try ChildProcessPipes.run(process)
        self.process = process

        // The banner, up to the challenge, which follows the SCEP URL.
        let banner = ChildOutput.read(output.fileHandleForReading, of: process) { $0.contains("Challenge:") }
        var port: Int?
        var challenge: String?
        for line in banner.text.split(separator: "\n") {
            if let range = line.range(of: "http://127.0.0.1:"), line.contains("SCEP URL") {
                port = Int(line[range.upperBound...].prefix(while: \.isNumber))
            }
            if line.contains("Challenge:") {
                challenge = line.split(separator: " ").last.map(String.init)
            }
        }
        guard banner.done, let port, let challenge else {
            process.terminate()
            throw StartError(description: "scepter dev exited or printed no banner within 60 s; output so far:\n\(banner.text)")
        }
        self.port = port
        self.challenge = challenge
    }

    /// The log so far (empty without `standardErrorFile`).
    public var standardErrorText: String {
        standardErrorFile.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? ""
    }

    /// Waits until the log satisfies `condition` and returns it; throws once
    /// `timeout` has passed without it, or the process has exited.
    public func waitForLog(timeout: Duration = .seconds(20), until condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = standardErrorText
            if condition(text) { return text }
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw StartError(description: "the awaited log line did not appear; log so far:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops the process with SIGTERM (a graceful shutdown, seconds), or
    /// SIGKILL when it has not exited within 10 s, and reaps it; waits on the
    /// calling thread.
    public func terminate() {
        Self.stop(process)
    }

    /// `terminate()` on a thread of its own: the cooperative pool's two
    /// threads are shared by every test running at once.
    public func stop() async throws {
        try await Shell.offPool { [process] in Self.stop(process) }
    }

    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A test releases its server on whichever pool thread it ends on: the
    /// SIGTERM is sent now, the wait for the exit happens off the pool (it
    /// held a pool thread for a graceful shutdown per test, and trivial tests
    /// waited 27-41 s to be scheduled in the suite's first minute).
    deinit {
        let process = process
        guard process.isRunning else { return }
        process.terminate()
        Thread.detachNewThread { Self.stop(process) }
    }
}
