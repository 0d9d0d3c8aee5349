import Foundation
import Testing
import ScepterTesting

/// Abuse of a real `scepter dev` process: clients that hold connections
/// open, floods of garbage. Enrollments keep working, nothing crashes.
@Suite("Interop: abuse resistance of a real process", .serialized, .timeLimit(.minutes(3)))
struct AbuseTests {
    struct SlowlorisReport: Decodable {
        var opened: Int
        var closedByServer: Int
        var longestHeld: Double?
    }

    @Test("A slowloris client holding more connections than the cap does not stop enrollments; its connections are closed")
    func slowlorisDoesNotStopEnrollments() async throws {
        try await InteropClient.ensureBuilt()
        let server = try await DevServerProcess.start(environment: ["SCEPTER_REQUEST_TIMEOUT": "2s", "SCEPTER_MAX_CONNECTIONS": "16"])
        defer { server.terminate() }
        let directory = try Shell.temporaryDirectory()
        let ready = directory.appendingPathComponent("ready")
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Interop/abuse/slowloris.py").path
        // Started here and now, not from a task that a busy cooperative pool might start late.
        let attacker = Process()
        attacker.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        attacker.arguments = [script, "127.0.0.1", "\(server.port)", "60", "15", ready.path]
        let report = directory.appendingPathComponent("report.json")
        FileManager.default.createFile(atPath: report.path, contents: nil)
        attacker.standardOutput = try FileHandle(forWritingTo: report)
        try ChildProcessPipes.run(attacker)
        defer { if attacker.isRunning { attacker.terminate() } }
        // Evidence, not a sleep: the attacker holds its connections.
        let clock = ContinuousClock()
        let waitUntil = clock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: ready.path), clock.now < waitUntil {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(FileManager.default.fileExists(atPath: ready.path), "the slowloris client never opened its connections")

        for index in 0..<3 {
            let enrolled = try await Shell.run(InteropClient.binary, [
                "-url", server.scepURL, "-challenge", server.challenge, "-cn", "under-attack-\(index)",
                "-key-out", directory.appendingPathComponent("k\(index).key").path,
            ])
            let report = try JSONDecoder().decode(
                InteropClient.Report.self, from: Data((enrolled.stdout.split(separator: "\n").last ?? "").utf8))
            #expect(report.pkiStatus == "SUCCESS", "\(enrolled.stderr)")
        }
        let finished = clock.now + .seconds(60)
        while attacker.isRunning, clock.now < finished { try await Task.sleep(for: .milliseconds(100)) }
        let output = try String(contentsOf: report, encoding: .utf8)
        let result = try JSONDecoder().decode(SlowlorisReport.self, from: Data((output.split(separator: "\n").last ?? "").utf8))
        #expect(result.closedByServer == result.opened, "\(output)")
        #expect((result.longestHeld ?? 99) <= 15, "a dripping connection was held for \(result.longestHeld ?? -1) s")
    }
}
