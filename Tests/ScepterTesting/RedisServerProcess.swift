import Foundation
import Synchronization

/// A private `redis-server` on a free loopback port, for tests that stop or
/// restart the server (the shared one from `scripts/services` must not be).
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked: `process` is replaced only by start/stop, which tests call in sequence.
    public let port: Int
    public let directory: URL
    /// Extra `redis-server` options, e.g. ["--requirepass", "secret"].
    public let options: [String]
    private var process: Process?
    private var exited: ExitSignal?

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts a server on a free port and waits until it accepts connections.
    public static func start(options: [String] = []) async throws -> RedisServerProcess {
        let server = RedisServerProcess(
            port: try freeLoopbackPort(), directory: try Shell.temporaryDirectory(), options: options)
        try await server.start()
        return server
    }

    private init(port: Int, directory: URL, options: [String]) {
        self.port = port
        self.directory = directory
        self.options = options
    }

    /// Starts (again) on the same port; returns once the server logs that it is ready.
    public func start() async throws {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let binary else {
            throw StartError(description: "redis-server is not installed (scripts/install-deps --test installs it)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--bind", "127.0.0.1", "--port", "\(port)", "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", directory.path, "--loglevel", "notice",
        ] + options.map { $0.replacingOccurrences(of: "{port}", with: "\(port)") }
        let output = ChildProcessPipes.make()
        process.standardOutput = output
        process.standardError = output
        let exited = ExitSignal()
        process.terminationHandler = { _ in exited.fire() }
        try ChildProcessPipes.run(process)
        self.process = process
        self.exited = exited
        // Read the log on a thread of its own (the reads block), to its end, so
        // the server never stalls on a full pipe; nil once it is ready, its
        // log if the output ends first, a note if 60 s pass first.
        let log = await ResumeOnce<String?>.wait(timeout: 60, fallback: "(not ready within 60 s)") { report in
            Thread.detachNewThread {
                var text = ""
                var reported = false
                let handle = output.fileHandleForReading
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    guard !reported else { continue }
                    text += String(decoding: chunk, as: UTF8.self)
                    if text.contains("Ready to accept connections") {
                        reported = true
                        report.resume(nil)
                    }
                }
                report.resume(text)
            }
        }
        if let log {
            kill(process.processIdentifier, SIGKILL)
            throw StartError(description: "redis-server on port \(port) did not start:\n\(log)")
        }
    }

    /// Kills the server (SIGKILL: a child of the test runner inherits its
    /// blocked SIGTERM, and nothing needs saving) and waits until it exited.
    public func stop() async {
        guard let process, let exited else { return }
        self.process = nil
        self.exited = nil
        kill(process.processIdentifier, SIGKILL)
        await exited.wait()
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback TCP port that was free a moment ago, for a server started
    /// later on it (a port a restarted process must find again).
    ///
    /// Chosen at random below the kernel's ephemeral range
    /// (`ip_local_port_range`), never from it: the kernel hands ports of that
    /// range to every outgoing connection as its source port, so a port it
    /// picked for a bind and that was released again could be any test's
    /// client end by the time the server binds it (EADDRINUSE, met in CI).
    /// Falls back to a kernel-picked port when the range starts too low.
    public static func freeLoopbackPort() throws -> Int {
        let ephemeralStart = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
        let candidates = 20000..<min(ephemeralStart, 32768)
        if candidates.count >= 1000 {
            for _ in 0..<100 {
                if let listener = try? LoopbackListener(port: Int.random(in: candidates)) { return listener.port }
            }
        }
        return try LoopbackListener().port
    }
}

/// Fires once when a process exits; waiters before or after are all resumed.
private final class ExitSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// A bound, listening loopback TCP socket that never accepts: connections
/// complete in the kernel's backlog and nothing ever answers them.
public final class LoopbackListener: Sendable {
    public let descriptor: Int32
    public let port: Int

    public struct SocketError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Listens on 127.0.0.1:`port`; 0: a port the kernel picks.
    public init(port: Int = 0) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw SocketError(description: "bind/listen on 127.0.0.1:\(port): errno \(errno)")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
