import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` lays out its threads by the CPUs it may use and runs
/// its Swift tasks on its event loops: a request, its database work and its
/// reply stay on one thread instead of being handed between two.
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

    /// Times any of its threads gave up its CPU to wait (voluntary switches:
    /// a hand-off to another thread is one; preemption by a busy machine's
    /// other processes, involuntary, is not counted).
    static func threadSwitches(_ server: DevServerProcess) throws -> Int {
        let pid = server.process.processIdentifier
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").reduce(0) { total, task in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            return total + status.split(separator: "\n").filter { $0.hasPrefix("voluntary_ctxt_switches:") }
                .compactMap { Int($0.split(separator: "\t").last ?? "") }.reduce(0, +)
        }
    }

    /// Thread switches per enrollment over `count` enrollments by micromdm's client, after one to warm up.
    static func switchesPerEnrollment(_ server: DevServerProcess, count: Int) async throws -> Double {
        let directory = try Shell.temporaryDirectory()
        func enroll(_ name: String) async throws {
            let run = try await InteropClient.run([
                "-url", server.scepURL, "-challenge", server.challenge, "-cn", name,
                "-key-out", directory.appendingPathComponent("\(name).key").path, "-cert-out", directory.appendingPathComponent("\(name).pem").path,
            ])
            #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
        }
        try await enroll("warm-up")
        let before = try threadSwitches(server)
        for index in 0..<count { try await enroll("switches-\(index)") }
        return Double(try threadSwitches(server) - before) / Double(count)
    }

    @Test("On one CPU it runs one event loop, its tasks on it, and says so at start")
    func oneCPUOneLoop() async throws {
        let log = try Shell.temporaryDirectory().appendingPathComponent("dev.log")
        let server = try await DevServerProcess.start(environment: ["SCEPTER_LOG_LEVEL": "notice"], standardErrorFile: log, launcher: Self.taskset)
        defer { server.terminate() }
        let text = try await server.waitForLog { $0.contains(" threads") }
        #expect(text.contains("cpus_allowed=1 event_loops=1 tasks=event-loops"), "\(text)")
        #expect(try Self.eventLoopThreads(server) == 1)
    }

    @Test("NIO_SINGLETON_GROUP_LOOP_COUNT still decides the event loops when set")
    func operatorLoopCount() async throws {
        let log = try Shell.temporaryDirectory().appendingPathComponent("dev.log")
        let server = try await DevServerProcess.start(
            environment: ["SCEPTER_LOG_LEVEL": "notice", "NIO_SINGLETON_GROUP_LOOP_COUNT": "3"], standardErrorFile: log, launcher: Self.taskset)
        defer { server.terminate() }
        let text = try await server.waitForLog { $0.contains(" threads") }
        #expect(text.contains("event_loops=3 tasks=event-loops"), "\(text)")
        #expect(try Self.eventLoopThreads(server) == 3)
    }

    @Test("With tasks on the event loops an enrollment switches threads less than half as often as with SCEPTER_TASK_EXECUTOR=pool")
    func fewerThreadSwitches() async throws {
        try await InteropClient.ensureBuilt()
        let onLoops = try await DevServerProcess.start(launcher: Self.taskset)
        let loopSwitches = try await Self.switchesPerEnrollment(onLoops, count: 6)
        onLoops.terminate()
        let onPool = try await DevServerProcess.start(environment: ["SCEPTER_TASK_EXECUTOR": "pool"], launcher: Self.taskset)
        let poolSwitches = try await Self.switchesPerEnrollment(onPool, count: 6)
        onPool.terminate()
        #expect(loopSwitches * 2 < poolSwitches, "thread switches per enrollment: \(loopSwitches) on the event loops, \(poolSwitches) on the pool")
    }

    @Test("An unknown SCEPTER_TASK_EXECUTOR is refused at start, naming the setting and the choices")
    func unknownExecutorRefused() async throws {
        let directory = try Shell.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_TASK_EXECUTOR"] = "threads"
        let run = try await Shell.run(
            DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(#"SCEPTER_TASK_EXECUTOR: "threads" is not one of event-loops, pool"#), "\(run.stderr)")
    }
}
