import Foundation
import Testing
import ScepterTesting

/// Each role makes sure, before it starts, that every connection its
/// listeners and pools may hold fits the open-file limit: it raises the soft
/// limit to the hard one, and refuses to start, naming the settings, when
/// that is still too few. At the limit a listener cannot accept and spins.
@Suite("Interop: the open-file limit at start", .timeLimit(.minutes(2)))
struct OpenFileLimitTests {
    static let prlimit = "/usr/bin/prlimit"

    @Test("scepter dev refuses a hard limit its connections do not fit, and names the setting and both numbers")
    func devRefusesALimitTooLow() async throws {
        let directory = try Shell.temporaryDirectory()
        let run = try await Shell.run(
            Self.prlimit, ["--nofile=200:200", DevServerProcess.binary, "dev", "--data-dir", directory.path, "--port", "0"], timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("SCEPTER_MAX_CONNECTIONS: one listener of SCEPTER_MAX_CONNECTIONS=1000 and 128 for the process itself"), "\(run.stderr)")
        #expect(run.stderr.contains("need up to 1128 open files, but this process may open only 200"), "\(run.stderr)")
    }

    @Test("Lowering SCEPTER_MAX_CONNECTIONS as the refusal advises lets it start under the same limit")
    func fewerConnectionsFit() async throws {
        let server = try await DevServerProcess.start(environment: ["SCEPTER_MAX_CONNECTIONS": "50"], launcher: [Self.prlimit, "--nofile=200:200"])
        defer { server.terminate() }
        let (status, _) = try await server.request("/scep?operation=GetCACaps")
        #expect(status == 200)
    }

    @Test("A soft limit below the hard one is raised to it at start")
    func softLimitIsRaised() async throws {
        let server = try await DevServerProcess.start(launcher: [Self.prlimit, "--nofile=200:4096"])
        defer { server.terminate() }
        let limits = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).prefix(2) == ["4096", "4096"], "\(line)")
    }

    @Test("The edge and the control plane count their pools too, beside their other problems")
    func rolesCountTheirPools() async throws {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SCEPTER_") }
        environment["SCEPTER_CONTROL_INTERNAL_LISTEN"] = "127.0.0.1:0"
        environment["SCEPTER_DATABASE_URL"] = "postgres://scepter@127.0.0.1:1/scepter"
        let edge = try await Shell.run(Self.prlimit, ["--nofile=300:300", DevServerProcess.binary, "edge"], environment: environment)
        #expect(edge.status == 2, "\(edge.stderr)")
        #expect(edge.stderr.contains("one listener of SCEPTER_MAX_CONNECTIONS=1000, 512 for SCEPTER_EDGE_CONTROL_CONNECTIONS and 128"), "\(edge.stderr)")
        #expect(edge.stderr.contains("need up to 1640 open files, but this process may open only 300"), "\(edge.stderr)")
        let control = try await Shell.run(Self.prlimit, ["--nofile=300:300", DevServerProcess.binary, "control"], environment: environment)
        #expect(control.status == 2, "\(control.stderr)")
        #expect(control.stderr.contains("2 listeners of SCEPTER_MAX_CONNECTIONS=1000, 10 for the PostgreSQL pool and 128"), "\(control.stderr)")
        #expect(control.stderr.contains("need up to 2138 open files"), "\(control.stderr)")
    }
}
