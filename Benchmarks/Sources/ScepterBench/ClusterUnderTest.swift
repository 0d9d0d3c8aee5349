import Foundation
import Glibc

/// What the harness measures: `scepter dev`, or a cluster of
/// `scepter control`, N `scepter edge`, a private `redis-server` and a
/// PostgreSQL database, every server-side process pinned to one core (or
/// the stores to a core of their own, `--stores-cpu`).
protocol ServerUnderTest: AnyObject {
    /// Edge ports the load is spread over.
    var ports: [UInt16] { get }
    var challenge: String { get }
    var raKeyPath: String { get }
    var caKeyPath: String { get }
    /// The process a profile records: `scepter dev`, or the cluster's process of that name.
    func pid(named name: String) throws -> Int32
    /// The processes the resource sampler reads, by name (a cluster's change as faults restart them).
    var sampledProcesses: ResourceSampler.Processes { get }
    /// CPU seconds of every server-side process so far.
    func cpuSeconds() throws -> Double
    /// CPU seconds so far of the processes pinned to the server's core: all
    /// of them, unless a cluster's stores have a core of their own.
    func cpuSecondsOnServerCore() throws -> Double
    func residentMiB() -> Double?
    func stop()
}

extension ServerProcess: ServerUnderTest {
    var ports: [UInt16] { [port] }
    var raKeyPath: String { dataDir + "/ra.key" }
    var caKeyPath: String { dataDir + "/ca.key" }
    /// `scepter dev` is the one process, whatever the name.
    func pid(named name: String) throws -> Int32 { pid }
    func cpuSecondsOnServerCore() throws -> Double { try cpuSeconds() }

    var sampledProcesses: ResourceSampler.Processes {
        let pid = pid
        return { [(name: "scepter dev", pids: [pid])] }
    }
}

/// The cluster: PKI from `scepter ca init`, profile `default` with a static
/// challenge, audit through the Redis stream into PostgreSQL.
final class ClusterUnderTest: ServerUnderTest {
    let challenge = "bench-\(UUID().uuidString)"
    let raKeyPath: String
    let caKeyPath: String
    private(set) var ports: [UInt16] = []
    /// Each child's process and how to start it again (see ClusterUnderTest+Faults.swift).
    var children: [Child] = []
    let databaseURL: String
    /// The URL the database was created through, and its name: stop() drops it again
    /// (a seeded one is gigabytes), unless `keepDatabase`.
    private let serverURL: String
    private let databaseName: String
    private let keepDatabase: Bool
    private var databaseDropped = false
    let directory: String
    let binary: String
    let cpu: Int
    /// The core PostgreSQL and Redis are pinned to: `cpu` unless `--stores-cpu`.
    let storesCPU: Int
    /// The PostgreSQL server's port: its processes are the ones measured and pinned.
    let postgresPort: Int?
    /// The children's current pids, for the resource sampler's thread.
    let registry = ProcessRegistry()
    /// In front of the control replicas when there is more than one (a Kubernetes Service's part).
    private(set) var controlProxy: TCPProxy?

    struct Child {
        var name: String
        var process: Process
        var executable: String
        var arguments: [String]
        var environment: [String: String]
        /// Where the role listens (nil: not a Scepter role, e.g. redis).
        var port: UInt16?
        var starts = 1
    }

    var sampledProcesses: ResourceSampler.Processes {
        let registry = registry
        return { registry.processes }
    }

    func pid(named name: String) throws -> Int32 {
        guard let child = children.first(where: { $0.name == name }) else {
            throw BenchError("--profile-process \(name): the cluster runs \(children.map(\.name).joined(separator: ", "))")
        }
        return child.process.processIdentifier
    }

    /// - Parameters:
    ///   - database: a PostgreSQL URL whose user may CREATE DATABASE; a fresh database is made for the run.
    ///   - controlReplicas: control planes sharing the database and Redis; above one, the edges reach them
    ///     through a TCP proxy that skips a replica refusing connections.
    ///   - redisAppendOnly: run Redis as a deployment must (docs/kubernetes.md): `appendonly yes`,
    ///     `appendfsync everysec`, so a restart keeps the audit stream; off for benchmarks.
    ///   - keepDatabase: leave the run's database on the server at stop() (`--keep-data`).
    ///   - storesCPU: the core for PostgreSQL and Redis, if not `cpu` (`--stores-cpu`).
    init(
        binary: String, cpu: Int, directory: String, database: String, edges: Int, logLevel: String?,
        caKey: CAKey = .rsa3072, controlReplicas: Int = 1, proxyCPU: Int? = nil, redisAppendOnly: Bool = false, keepDatabase: Bool = false,
        storesCPU: Int? = nil
    ) throws {
        self.directory = directory
        self.keepDatabase = keepDatabase
        self.binary = binary
        self.cpu = cpu
        self.storesCPU = storesCPU ?? cpu
        let pki = directory + "/pki"
        try Self.run(binary, ["ca", "init", "--out", pki, caKey.initFlag])
        raKeyPath = pki + "/ra.key"
        caKeyPath = pki + "/ca.key"

        let name = "bench_\(UUID().uuidString.prefix(8).lowercased())"
        guard let slash = database.lastIndex(of: "/") else { throw BenchError("\(database) names no database") }
        try Self.run("/usr/bin/psql", [database, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        serverURL = database
        databaseName = name
        databaseURL = database[..<slash] + "/" + name
        postgresPort = Self.port(ofURL: database)
        Self.pinPostgres(port: postgresPort, to: self.storesCPU)

        let redisPort = try Self.freePort()
        var redisArguments = ["-c", "\(self.storesCPU)", "redis-server", "--bind", "127.0.0.1", "--port", "\(redisPort)", "--save", ""]
        if redisAppendOnly {
            try FileManager.default.createDirectory(atPath: directory + "/redis", withIntermediateDirectories: true)
            redisArguments += ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", directory + "/redis"]
        } else {
            redisArguments += ["--appendonly", "no"]
        }
        let redis = try Self.start("redis", "/usr/bin/taskset", redisArguments, environment: [:], log: directory + "/redis.log")
        children.append(Child(name: "redis", process: redis, executable: "/usr/bin/taskset", arguments: redisArguments, environment: [:]))
        try Self.waitForRedis(port: redisPort, process: redis, log: directory + "/redis.log")

        let controlPorts = try (0..<max(1, controlReplicas)).map { _ in try Self.freePort() }
        var controlURLPort = controlPorts[0]
        if controlPorts.count > 1 {
            let proxy = try TCPProxy(backends: controlPorts, cpu: proxyCPU)
            controlProxy = proxy
            controlURLPort = proxy.port
        }
        let environment = Self.roleEnvironment(
            pki: pki, challenge: challenge, redisPort: redisPort, databaseURL: databaseURL, controlURLPort: controlURLPort, logLevel: logLevel)
        // Replicas one after the other: the first runs the migrations.
        for (index, port) in controlPorts.enumerated() {
            let name = controlPorts.count == 1 ? "control" : "control-\(index)"
            var controlEnvironment = environment
            controlEnvironment["SCEPTER_CONTROL_LISTEN"] = "127.0.0.1:\(port)"
            let arguments = ["-c", "\(cpu)", binary, "control"]
            let log = directory + "/\(name).log"
            let control = try Self.start(name, "/usr/bin/taskset", arguments, environment: controlEnvironment, log: log)
            children.append(Child(name: name, process: control, executable: "/usr/bin/taskset", arguments: arguments, environment: controlEnvironment, port: port))
            _ = try Self.waitForPort(log: log, process: control)
        }
        // Fixed ports, so that a restarted edge is found where it was.
        for index in 0..<edges {
            var edgeEnvironment = environment
            edgeEnvironment["SCEPTER_EDGE_ID"] = "bench-edge-\(index)"
            edgeEnvironment["SCEPTER_EDGE_LISTEN"] = "127.0.0.1:\(try Self.freePort())"
            let log = directory + "/edge-\(index).log"
            let arguments = ["-c", "\(cpu)", binary, "edge"]
            let edge = try Self.start("edge-\(index)", "/usr/bin/taskset", arguments, environment: edgeEnvironment, log: log)
            let port = try Self.waitForPort(log: log, process: edge)
            children.append(Child(name: "edge-\(index)", process: edge, executable: "/usr/bin/taskset", arguments: arguments, environment: edgeEnvironment, port: port))
            ports.append(port)
        }
        publishProcesses()
    }

    /// Control plane, edges, Redis and every PostgreSQL process (backends included).
    func cpuSeconds() throws -> Double {
        var total = 0.0
        for child in children { total += try ProcStat.cpuSeconds(pid: child.process.processIdentifier) }
        for pid in Self.postgresPIDs(port: postgresPort) { total += (try? ProcStat.cpuSeconds(pid: pid)) ?? 0 }
        return total
    }

    func cpuSecondsOnServerCore() throws -> Double {
        guard storesCPU != cpu else { return try cpuSeconds() }
        return try children.filter { $0.name != "redis" }.reduce(0) { $0 + (try ProcStat.cpuSeconds(pid: $1.process.processIdentifier)) }
    }

    /// CPU seconds so far by process: each child by name, PostgreSQL's processes
    /// together as `postgres`, and again by role as `postgres/<role>` (backends,
    /// checkpointer, autovacuum, …), so a phase can show what PostgreSQL was doing.
    func cpuByProcess() -> [String: Double] {
        var result: [String: Double] = [:]
        for child in children { result[child.name] = try? ProcStat.cpuSeconds(pid: child.process.processIdentifier) }
        for pid in Self.postgresPIDs(port: postgresPort) {
            let seconds = (try? ProcStat.cpuSeconds(pid: pid)) ?? 0
            result["postgres", default: 0] += seconds
            result["postgres/" + Self.postgresRole(pid: pid), default: 0] += seconds
        }
        return result
    }

    /// "control 0.860 ms, …, postgres 0.580 ms (backends 0.400, checkpointer 0.150), redis 0.090 ms":
    /// CPU per enrollment between two `cpuByProcess()` snapshots; PostgreSQL's roles
    /// under 0.005 ms are left out.
    static func perEnrollmentLine(before: [String: Double], after: [String: Double], enrollments: Int) -> String {
        func milliseconds(_ name: String) -> Double { ((after[name] ?? 0) - (before[name] ?? 0)) * 1000 / Double(enrollments) }
        let roles = after.keys.filter { $0.hasPrefix("postgres/") }.sorted()
            .map { (role: String($0.dropFirst("postgres/".count)), ms: milliseconds($0)) }
            .filter { $0.ms >= 0.005 }
        return after.keys.filter { !$0.hasPrefix("postgres/") }.sorted().map { name in
            var part = String(format: "%@ %.3f ms", name, milliseconds(name))
            if name == "postgres", !roles.isEmpty {
                part += " (" + roles.map { String(format: "%@ %.3f", $0.role, $0.ms) }.joined(separator: ", ") + ")"
            }
            return part
        }.joined(separator: ", ")
    }

    /// What a PostgreSQL process does, from the title it gives itself
    /// ("postgres: checkpointer", "postgres: scepter bench_1a2b 127.0.0.1(40312) idle"):
    /// `backends` for client sessions, else its background role; `postmaster` untitled.
    static func postgresRole(pid: Int32) -> String {
        guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), command.hasPrefix("postgres: ") else {
            return "postmaster"
        }
        let title = command.dropFirst("postgres: ".count)
        let background = ["checkpointer", "background writer", "walwriter", "autovacuum", "logical replication", "archiver", "startup", "walreceiver", "walsender"]
        return background.first { title.hasPrefix($0) } ?? "backends"
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
        controlProxy?.stop()
        if databaseDropped { return }
        databaseDropped = true
        if keepDatabase {
            note("the run's database kept: \(databaseURL)")
            return
        }
        do {
            try Self.run("/usr/bin/psql", [serverURL, "-q", "-v", "ON_ERROR_STOP=1", "-c", "DROP DATABASE \(databaseName) WITH (FORCE)"])
        } catch {
            note("could not drop the run's database \(databaseName) (drop it by hand: psql \(serverURL) -c 'DROP DATABASE \(databaseName)'): \(error)")
        }
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

    /// Returns once the private redis-server accepts connections on `port`;
    /// throws with its log when it exits first (not installed, say), instead
    /// of a cluster whose edges answer every request 503.
    static func waitForRedis(port: UInt16, process: Process, log: String, timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let descriptor = TCPProxy.connect(port: port)
            if descriptor >= 0 {
                Glibc.close(descriptor)
                return
            }
            guard process.isRunning else {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw BenchError("redis-server did not start (a cluster run needs it: scripts/install-deps --bench); see \(log)\n\(text)")
            }
            usleep(50_000)
        }
        throw BenchError("redis-server accepted no connection on port \(port) within \(Int(timeout)) s; see \(log)")
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

    /// The processes of the PostgreSQL server listening on `port` (postmaster
    /// and children), found through each postmaster's `postmaster.pid`; every
    /// process named `postgres` when the port is unknown. Other PostgreSQL
    /// servers on the machine (other people's tests) are neither measured nor pinned.
    static func postgresPIDs(port: Int?) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let postgres = entries.compactMap(Int32.init).filter { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("postgres")
        }
        guard let port else { return postgres }
        let all = Set(postgres)
        var parents: [Int32: Int32] = [:]
        for pid in postgres { parents[pid] = ProcStat.parent(pid: pid) }
        let postmasters = Set(postgres.filter { pid in !all.contains(parents[pid] ?? 0) && postmasterPort(pid: pid) == port })
        return postgres.filter { postmasters.contains($0) || postmasters.contains(parents[$0] ?? 0) }
    }

    /// The port in the postmaster's `<data directory>/postmaster.pid` (its 4th line).
    private static func postmasterPort(pid: Int32) -> Int? {
        guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return nil }
        let arguments = command.split(separator: "\0").map(String.init)
        guard let flag = arguments.firstIndex(of: "-D"), flag + 1 < arguments.count else { return nil }
        var dataDirectory = arguments[flag + 1]
        if !dataDirectory.hasPrefix("/"), let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd") {
            dataDirectory = cwd + "/" + dataDirectory
        }
        guard let lines = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8).split(separator: "\n"),
            lines.count > 3
        else { return nil }
        return Int(lines[3].trimmingSpaces())
    }

    /// The port of a `postgres://user@host:port/db` URL.
    static func port(ofURL url: String) -> Int? {
        guard let at = url.lastIndex(of: "@") else { return nil }
        let hostPart = url[url.index(after: at)...].prefix { $0 != "/" && $0 != "?" }
        guard let colon = hostPart.lastIndex(of: ":") else { return 5432 }
        return Int(hostPart[hostPart.index(after: colon)...])
    }

    /// Pins PostgreSQL (postmaster and backends; new backends inherit it) to `cpu`.
    /// What every role of the benchmark's cluster reads: profile `default`
    /// with a static challenge, issuer `bench`, the PKI of `scepter ca init`,
    /// and no per-source limit to reach.
    static func roleEnvironment(
        pki: String, challenge: String, redisPort: UInt16, databaseURL: String, controlURLPort: UInt16, logLevel: String?
    ) -> [String: String] {
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
            "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(controlURLPort)",
            "SCEPTER_SOURCE_RATE_LIMIT": ServerProcess.unreachedSourceLimit,
        ]
        if let logLevel { environment["SCEPTER_LOG_LEVEL"] = logLevel }
        return environment
    }

    static func pinPostgres(port: Int?, to cpu: Int) {
        for pid in postgresPIDs(port: port) { try? run("/usr/bin/taskset", ["-a", "-p", "-c", "\(cpu)", "\(pid)"]) }
    }
}
