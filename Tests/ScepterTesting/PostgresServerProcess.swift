import Foundation

/// A private PostgreSQL cluster on a free loopback port, for tests that stop
/// and restart the server (the shared one from `scripts/services` must not
/// be). Runs as the `postgres` user when the tests run as root, as initdb
/// requires. The database `scepter` (owner `scepter`, trust auth) exists.
/// Durability settings stay at their defaults: `stop()` is a crash, and a
/// commit the server acknowledged must survive it.
public final class PostgresServerProcess: Sendable {
    public let port: Int
    public let directory: URL
    let binaries: URL

    public var url: String { "postgres://scepter@127.0.0.1:\(port)/scepter" }
    private var dataDirectory: String { directory.appendingPathComponent("data").path }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// initdb, start, create the role and database (a few seconds).
    public static func start() async throws -> PostgresServerProcess {
        let candidates = ["/usr/lib/postgresql/15/bin"]
            + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted().reversed().map { "/usr/lib/postgresql/\($0)/bin" }
        guard let binaries = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }) else {
            throw StartError(description: "PostgreSQL server binaries not found (scripts/install-deps --test installs them)")
        }
        let directory = try Shell.temporaryDirectory()
        let server = PostgresServerProcess(
            port: try RedisServerProcess.freeLoopbackPort(), directory: directory, binaries: URL(fileURLWithPath: binaries))
        try await server.run(["chmod", "755", directory.path])
        if getuid() == 0 { try await server.run(["chown", "postgres:", directory.path]) }
        try await server.asPostgres("initdb", ["-D", server.dataDirectory, "--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"])
        let settings = """
            listen_addresses = '127.0.0.1'
            port = \(server.port)
            unix_socket_directories = '\(directory.path)'
            """
        try await server.asPostgres("/bin/sh", ["-c", "cat >> '\(server.dataDirectory)/postgresql.auto.conf' <<'EOF'\n\(settings)\nEOF"], absolute: true)
        try await server.resume()
        try await server.asPostgres("psql", [
            "-h", "127.0.0.1", "-p", "\(server.port)", "-U", "postgres", "-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1",
            "-c", "CREATE ROLE scepter LOGIN CREATEDB", "-c", "CREATE DATABASE scepter OWNER scepter",
        ])
        return server
    }

    private init(port: Int, directory: URL, binaries: URL) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
    }

    /// Starts the server again on the same port and data.
    public func resume() async throws {
        let pgCtl = binaries.appendingPathComponent("pg_ctl").path
        let log = directory.appendingPathComponent("pg_ctl.log")
        let arguments = ["start", "-D", dataDirectory, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60"]
        let status = try await getuid() == 0
            ? Shell.runLogged("/usr/sbin/runuser", ["-u", "postgres", "--", pgCtl] + arguments, log: log)
            : Shell.runLogged(pgCtl, arguments, log: log)
        guard status == 0 else {
            throw StartError(description: "pg_ctl start failed (\(status)): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }
    }

    /// Stops it the way a crash or a node loss does (`-m immediate`): connections drop at once.
    public func stop() async throws {
        try await asPostgres("pg_ctl", ["stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "60"])
    }

    private func asPostgres(_ tool: String, _ arguments: [String], absolute: Bool = false) async throws {
        let executable = absolute ? tool : binaries.appendingPathComponent(tool).path
        if getuid() == 0 {
            try await run(["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments)
        } else {
            try await run([executable] + arguments)
        }
    }

    private func run(_ command: [String]) async throws {
        let executable = command[0].hasPrefix("/") ? command[0] : "/usr/bin/env"
        let arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        let result = try await Shell.run(executable, arguments)
        guard result.status == 0 else {
            throw StartError(description: "\(command.joined(separator: " ")) failed (\(result.status)): \(result.stderr)\(result.stdout)")
        }
    }

    deinit {
        let stop = Process()
        stop.executableURL = URL(fileURLWithPath: getuid() == 0 ? "/usr/sbin/runuser" : binaries.appendingPathComponent("pg_ctl").path)
        stop.arguments = (getuid() == 0 ? ["-u", "postgres", "--", binaries.appendingPathComponent("pg_ctl").path] : [])
            + ["stop", "-D", dataDirectory, "-m", "immediate"]
        stop.standardOutput = FileHandle.nullDevice
        stop.standardError = FileHandle.nullDevice
        try? stop.run()
        stop.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
