import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// A real `scepter dev` lays out its threads by the CPUs it may use and runs
/// its Swift tasks on its event loops: a request, its database work and its
/// reply stay on one thread instead of being handed between two. What that
/// saves is measured in Benchmarks/HISTORY.md ("Tasks on the event loops"),
/// not here: thread switches counted while the suite runs beside it depend
/// on the machine's load as much as on the server.
@Suite("Interop: threads of a real process", .timeLimit(.minutes(3)))
struct ThreadLayoutProcessTests {
    static let taskset = ["/usr/bin/taskset", "-c", "0"]

    /// Its event-loop threads, by the names NIO gives them.
    static func eventLoopThreads(_ server: DevServerProcess) throws -> Int {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.process.processIdentifier)/task")
        return try tasks.filter { task in
            try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/task/\(task)/comm", encoding: .utf8).hasPrefix("NIO-SGLTN")
        }.count
    }

    /// `scepter dev` on CPU 0 with `environment`, and its log once it holds the `threads` line.
    static func start(_ environment: [String: String] = [:]) async throws -> (server: DevServerProcess, log: String) {
        let file = try Shell.temporaryDirectory().appendingPathComponent("dev.log")
        let server = try await DevServerProcess.start(
            environment: environment.merging(["SCEPTER_LOG_LEVEL": "notice"]) { mine, _ in mine }, standardErrorFile: file, launcher: taskset)
        do {
            return (server, try await server.waitForLog { $0.contains(" threads") })
        } catch {
            server.terminate()
            throw error
        }
    }

    @Test("On one CPU it runs one event loop, its tasks on it, and says so at start")
    func oneCPUOneLoop() async throws {
        let (server, log) = try await Self.start()
        defer { server.terminate() }
        #expect(log.contains("cpus_allowed=1 event_loops=1 tasks=event-loops"), "\(log)")
        #expect(try Self.eventLoopThreads(server) == 1)
        try await Self.enrolls(server)
    }

    @Test("SCEPTER_TASK_EXECUTOR=pool runs the tasks on Swift's pool, as before, and says so")
    func poolOnRequest() async throws {
        let (server, log) = try await Self.start(["SCEPTER_TASK_EXECUTOR": "pool"])
        defer { server.terminate() }
        #expect(log.contains("cpus_allowed=1 event_loops=1 tasks=pool"), "\(log)")
        try await Self.enrolls(server)
    }

    /// Three enrollments at once are each answered SUCCESS.
    static func enrolls(_ server: DevServerProcess) async throws {
        let ra = try server.raCertificate
        let devices = try (0..<3).map { try TestDevice(commonName: "threads-\($0)", challenge: server.challenge) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for device in devices {
                group.addTask {
                    let (status, body) = try await server.pkiOperation(try device.pkcsReq(ra: ra))
                    #expect(status == 200)
                    #expect(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).status == .success)
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("NIO_SINGLETON_GROUP_LOOP_COUNT still decides the event loops when set; requests are served on several")
    func operatorLoopCount() async throws {
        let (server, log) = try await Self.start(["NIO_SINGLETON_GROUP_LOOP_COUNT": "3"])
        defer { server.terminate() }
        #expect(log.contains("event_loops=3 tasks=event-loops"), "\(log)")
        #expect(try Self.eventLoopThreads(server) == 3)
        // Several loops: each request is pinned to its connection's loop.
        try await Self.enrolls(server)
    }

    @Test("An unknown SCEPTER_TASK_EXECUTOR and a loop count of 0 are refused at start, each naming its setting")
    func badThreadSettingsRefused() async throws {
        let directory = try Shell.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_TASK_EXECUTOR"] = "threads"
        environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] = "0"
        let run = try await Shell.run(
            DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(#"SCEPTER_TASK_EXECUTOR: "threads" is not one of event-loops, pool"#), "\(run.stderr)")
        #expect(run.stderr.contains(#"NIO_SINGLETON_GROUP_LOOP_COUNT: "0" is not a whole number of at least 1"#), "\(run.stderr)")
    }
}
