import Foundation
import Glibc

/// A PostgreSQL server of the run's own, under its temporary directory, that
/// the soak may restart (the shared one of `scripts/services` may serve other
/// people's tests). Set up as `scripts/services` does: initdb as the
/// `postgres` OS user when we are root, trust authentication on loopback,
/// `fsync` and `synchronous_commit` off (throwaway data; a restart is a clean
/// `pg_ctl restart -m fast`, which flushes everything first).
final class PrivatePostgres {
    let directory: String
    let port: UInt16
    let binDirectory: String
    private let cpu: Int

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: a superuser, so the harness may CREATE DATABASE.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    var dataDirectory: String { directory + "/data" }

    /// Runs initdb in `directory`/data and starts the server pinned to `cpu`.
    init(directory: String, cpu: Int) throws {
        self.directory = directory
        self.cpu = cpu
        binDirectory = try Self.findBinaries()
        port = try ClusterUnderTest.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        if getuid() == 0 {
            // initdb and postgres refuse to run as root.
            chmod(URL(fileURLWithPath: directory).deletingLastPathComponent().path, 0o755)
            try ClusterUnderTest.run("/bin/chown", ["postgres:", directory])
        }
        try runAsPostgres(binDirectory + "/initdb", [
            "-D", dataDirectory, "--username=postgres", "--auth=trust", "--encoding=UTF8", "--locale=C",
        ])
        let configuration = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory)'
            max_connections = 300
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            log_lock_waits = on
            log_min_duration_statement = 1000

            """
        try configuration.write(toFile: dataDirectory + "/postgresql.auto.conf", atomically: false, encoding: .utf8)
        if getuid() == 0 { try ClusterUnderTest.run("/bin/chown", ["postgres:", dataDirectory + "/postgresql.auto.conf"]) }
        try start()
    }

    /// `pg_ctl start -w`, pinned to the server CPU (backends inherit it).
    func start() throws {
        try runAsPostgres(binDirectory + "/pg_ctl", ["start", "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "60"], pin: true)
    }

    /// `pg_ctl stop -m fast -w`: open connections are terminated, everything is flushed.
    func stop() {
        try? runAsPostgres(binDirectory + "/pg_ctl", ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"])
    }

    /// A fast restart: every connection is cut, the server is back within seconds.
    func restart() throws {
        try runAsPostgres(binDirectory + "/pg_ctl", ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60"])
        try start()
    }

    /// The postmaster and its children.
    func pids() -> [Int32] { ClusterUnderTest.postgresPIDs(port: Int(port)) }

    /// Runs `psql` against `database` on this server and returns its standard output.
    func query(_ sql: String, database: String) throws -> String {
        try Self.capture(binDirectory + "/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// Runs a PostgreSQL program (as the `postgres` OS user when we are root),
    /// its output appended to `<directory>/commands.log`. pg_ctl bounds its own waits (-t 60).
    private func runAsPostgres(_ executable: String, _ arguments: [String], pin: Bool = false) throws {
        var command = [executable] + arguments
        if getuid() == 0 { command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command }
        if pin { command = ["/usr/bin/taskset", "-c", "\(cpu)"] + command }
        try Subprocess.run(command[0], Array(command.dropFirst()), log: directory + "/commands.log", timeout: 90)
    }

    /// Runs a command to completion (within 2 minutes) and returns its output.
    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        try Subprocess.run(executable, arguments)
    }

    private static func findBinaries() throws -> String {
        var candidates = ["/usr/lib/postgresql/15/bin"]
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { $0.compare($1, options: .numeric) == .orderedDescending }.map { "/usr/lib/postgresql/\($0)/bin" }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate + "/pg_ctl") { return candidate }
        throw BenchError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install them: scripts/install-deps --test)")
    }
}
