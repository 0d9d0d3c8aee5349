import Foundation
import Glibc

/// What the harness measures: `scepter dev`, or a cluster of
/// `scepter control`, N `scepter edge`, a private `redis-server` and a
/// PostgreSQL database, every server-side process pinned to one core.
protocol ServerUnderTest: AnyObject {
    /// Edge ports the load is spread over.
    var ports: [UInt16] { get }
    var challenge: String { get }
    var raKeyPath: String { get }
    var caKeyPath: String { get }
    /// The process a profile records (the edge, or `scepter dev`).
    var pid: Int32 { get }
    /// CPU seconds of every server-side process so far.
    func cpuSeconds() throws -> Double
    func residentMiB() -> Double?
    func stop()
}

extension ServerProcess: ServerUnderTest {
    var ports: [UInt16] { [port] }
    var raKeyPath: String { dataDir + "/ra.key" }
    var caKeyPath: String { dataDir + "/ca.key" }
}

/// The cluster: PKI from `scepter ca init`, profile `default` with a static
/// challenge, audit through the Redis stream into PostgreSQL.
final class ClusterUnderTest: ServerUnderTest {
    let challenge = "bench-\(UUID().uuidString)"
    let raKeyPath: String
    let caKeyPath: String
    private(set) var ports: [UInt16] = []
    private var children: [(name: String, process: Process)] = []
    let databaseURL: String
    private let directory: String

    var pid: Int32 { children.first { $0.name.hasPrefix("edge") }?.process.processIdentifier ?? 0 }

    /// - Parameter database: a PostgreSQL URL whose user may CREATE DATABASE; a fresh database is made for the run.
    init(binary: String, cpu: Int, directory: String, database: String, edges: Int, logLevel: String?) throws {
        self.directory = directory
        let pki = directory + "/pki"
        try Self.run(binary, ["ca", "init", "--out", pki])
        raKeyPath = pki + "/ra.key"
        caKeyPath = pki + "/ca.key"

        let name = "bench_\(UUID().uuidString.prefix(8).lowercased())"
        try Self.run("/usr/bin/psql", [database, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        guard let slash = database.lastIndex(of: "/") else { throw BenchError("\(database) names no database") }
        databaseURL = database[..<slash] + "/" + name
        Self.pinPostgres(to: cpu, port: PostgresProcesses.port(of: database))

        let redisPort = try Self.freePort()
        let redis = try Self.start(
            "redis", "/usr/bin/taskset",
            ["-c", "\(cpu)", "redis-server", "--bind", "127.0.0.1", "--port", "\(redisPort)", "--save", "", "--appendonly", "no"],
            environment: [:], log: directory + "/redis.log")
        children.append(("redis", redis))
        Thread.sleep(forTimeInterval: 0.5)

        let controlPort = try Self.freePort()
        var environment = [
            "SCEPTER_PROFILES": "default",
            "SCEPTER_ISSUERS": "bench",
            "SCEPTER_ISSUER_BENCH_CA_CERT_PATH": pki + "/ca.pem",
            "SCEPTER_ISSUER_BENCH_CA_KEY_PATH": pki + "/ca.key",
            "SCEPTER_PROFILE_DEFAULT_RA_CERT_PATH": pki + "/ra.pem",
            "SCEPTER_PROFILE_DEFAULT_RA_KEY_PATH": pki + "/ra.key",
            "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD": challenge,
            "SCEPTER_EDGE_TOKEN": "bench-edge-token-\(UUID().uuidString)",
            "SCEPTER_REDIS_URL": "redis://127.0.0.1:\(redisPort)/0",
            "SCEPTER_DATABASE_URL": databaseURL,
            "SCEPTER_CONTROL_LISTEN": "127.0.0.1:\(controlPort)",
            "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(controlPort)",
            "SCEPTER_EDGE_LISTEN": "127.0.0.1:0",
            "SCEPTER_SOURCE_RATE_LIMIT": ServerProcess.unreachedSourceLimit,
        ]
        if let logLevel { environment["SCEPTER_LOG_LEVEL"] = logLevel }
        let control = try Self.start("control", "/usr/bin/taskset", ["-c", "\(cpu)", binary, "control"], environment: environment, log: directory + "/control.log")
        children.append(("control", control))
        _ = try Self.waitForPort(log: directory + "/control.log", process: control)
        for index in 0..<edges {
            environment["SCEPTER_EDGE_ID"] = "bench-edge-\(index)"
            let log = directory + "/edge-\(index).log"
            let edge = try Self.start("edge-\(index)", "/usr/bin/taskset", ["-c", "\(cpu)", binary, "edge"], environment: environment, log: log)
            children.append(("edge-\(index)", edge))
            ports.append(try Self.waitForPort(log: log, process: edge))
        }
    }

    /// Control plane, edges, Redis and every PostgreSQL process (backends included).
    func cpuSeconds() throws -> Double {
        var total = 0.0
        for child in children { total += try ProcStat.cpuSeconds(pid: child.process.processIdentifier) }
        for pid in PostgresProcesses.pids(port: PostgresProcesses.port(of: databaseURL)) { total += (try? ProcStat.cpuSeconds(pid: pid)) ?? 0 }
        return total
    }

    /// CPU seconds so far by process: each child by name, PostgreSQL's processes together.
    func cpuByProcess() -> [String: Double] {
        var result: [String: Double] = [:]
        for child in children { result[child.name] = try? ProcStat.cpuSeconds(pid: child.process.processIdentifier) }
        result["postgres"] = PostgresProcesses.pids(port: PostgresProcesses.port(of: databaseURL)).reduce(0) { $0 + ((try? ProcStat.cpuSeconds(pid: $1)) ?? 0) }
        return result
    }

    func residentMiB() -> Double? {
        let values = children.compactMap { child -> Double? in
            guard let status = try? String(contentsOfFile: "/proc/\(child.process.processIdentifier)/status", encoding: .utf8) else { return nil }
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
                return line.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { $0 / 1024 }
            }
            return nil
        }
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    func stop() {
        for child in children.reversed() where child.process.isRunning {
            kill(child.process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while child.process.isRunning && Date() < deadline { usleep(50_000) }
            if child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
        }
        children = []
    }

    deinit { stop() }

    // MARK: Helpers

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }

    /// Output goes to a file: nothing must stall on a pipe nobody reads.
    static func start(_ name: String, _ executable: String, _ arguments: [String], environment: [String: String], log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The port from the role's "listening on 127.0.0.1:PORT" line.
    static func waitForPort(log: String, process: Process, timeout: Double = 120) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") where line.contains("listening on 127.0.0.1:") {
                let tail = line[line.range(of: "listening on 127.0.0.1:")!.upperBound...]
                if let port = UInt16(tail.prefix { $0.isNumber }) { return port }
            }
            guard process.isRunning else { throw BenchError("a cluster process exited; see \(log)\n\(text)") }
            usleep(100_000)
        }
        throw BenchError("no listening line within \(Int(timeout)) s; see \(log)")
    }

    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free loopback port") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Pins the running PostgreSQL (postmaster and backends; new backends inherit it) to `cpu`.
    private static func pinPostgres(to cpu: Int, port: Int) {
        for pid in PostgresProcesses.pids(port: port) { try? run("/usr/bin/taskset", ["-a", "-p", "-c", "\(cpu)", "\(pid)"]) }
    }
}
