import ArgumentParser
import Foundation
import Synchronization

@main
struct ScepterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scepter-bench",
        abstract: "Measures server CPU per enrollment and enrollments/s of `scepter dev` beside the cost of the RSA operations an enrollment needs.",
        discussion: """
            Starts the release server pinned to one CPU, pre-generates PKCSReq messages (each with its own \
            RSA-2048 key), sends them from another CPU and checks every reply. Exits non-zero only on errors, \
            never for missing the target.
            """,
        subcommands: [SeedCommand.self, InventoryCommand.self])

    @Option(help: "Measured enrollments.")
    var requests = 2000

    @Option(help: "Requests in flight (one keep-alive connection each).")
    var concurrency = 16

    @Option(help: "Path of the release scepter binary (default: .build-release/release/scepter of the repository).")
    var binary: String?

    @Option(help: "Unmeasured enrollments sent first, at the same concurrency.")
    var warmup = 50

    @Option(help: "Replies fully verified (RA signature, decryption, issued certificate); every reply's status is checked.")
    var verifySample = 50

    @Option(help: "CPU seconds spent timing each RSA operation.")
    var cryptoSeconds = 1.0

    @Option(help: "CPU the server (and the crypto measurement) is pinned to.")
    var serverCPU = 0

    @Option(help: "CPU the load generator is pinned to.")
    var clientCPU = 1

    @Option(help: "SCEPTER_LOG_LEVEL for the server (default: the server's own, info).")
    var serverLogLevel: String?

    @Option(help: "Also write the figures as JSON to this file.")
    var json: String?

    @Flag(help: "Keep the server's data directory and log (and, in --cluster-database mode, the run's database).")
    var keepData = false

    @Option(help: ArgumentHelp(
        "Reuse the devices' RSA-2048 keys from this directory across runs (made on first use).",
        discussion: "Key generation dominates pre-generation (around 0.1 s of CPU per RSA-2048 key on this machine). Keys stay distinct within a run; the server starts with a fresh database every run."))
    var keyCache: String?

    @Option(help: ArgumentHelp(
        "Measure the cluster instead of `scepter dev`: control plane, --edges edges, a private redis-server and a fresh database on this PostgreSQL (a URL whose user may CREATE DATABASE).",
        discussion: "Every server-side process, PostgreSQL's included, is pinned to --server-cpu; their CPU is summed."))
    var clusterDatabase: String?

    @Option(help: ArgumentHelp(
        "In --cluster-database mode, pin PostgreSQL and the private redis-server to this CPU instead of --server-cpu, as a deployment gives the stores cores of their own.",
        discussion: "Their CPU still counts in the server's; the load generator shares their CPU. Without it every server-side process shares --server-cpu, as issue #14's cluster target is defined."))
    var storesCPU: Int?

    @Option(help: "The issuing CA's key: rsa3072 (the `scepter dev` default), rsa2048 or p256. The RA is RSA 2048 in every case.")
    var caKey: CAKey = .rsa3072

    @Option(help: "Edges in --cluster-database mode; the load is spread over them.")
    var edges = 2

    @OptionGroup var seeding: InventorySeeding

    @Flag(help: ArgumentHelp(
        "With --seed-certificates: run an empty cluster beside the seeded one and alternate closed-loop phases between them, compared pair by pair.",
        discussion: "One pair per --sweep-concurrency entry (default: seven at --concurrency; an odd count, so the median is one pair), --requests each phase; the order flips every pair. The host's drift, which moves separate runs by 20-70 %, cancels within a pair."))
    var againstEmpty = false

    @Option(help: "Record a `perf record --call-graph dwarf` profile of the server during the measured phase into this file.")
    var profile: String?

    @Option(help: "The process --profile records in --cluster-database mode: control, edge-0 (the default), edge-1, … or redis.")
    var profileProcess = "edge-0"

    @Option(help: ArgumentHelp(
        "Open-loop load instead: requests per second, or half-peak (measure the closed-loop peak at --concurrency first, then run at half of it).",
        discussion: "--requests are sent at that fixed arrival rate; latency counts from each request's scheduled time."))
    var rate: String?

    @Option(help: "Connections (threads) of the open-loop load generator (--rate, --soak).")
    var connections = 256

    @Option(help: "Closed-loop sweep: one row per concurrency, e.g. 1,4,16,64,256 (--requests each).")
    var sweepConcurrency: String?

    @Option(help: ArgumentHelp(
        "Measure this many fresh servers (or clusters) one after another, closed loop or --rate, and end with each run's figure and their median.",
        discussion: "The figure is server CPU / crypto, or with --rate the p99 latency. Separate runs on this VM have moved by up to half with nothing changed; the median of a few is the figure to quote. (--sweep-concurrency 16,16,16 repeats phases on one server instead, which move less than fresh ones.)"))
    var repeats = 1

    @Option(help: ArgumentHelp(
        "Soak the cluster for this long (e.g. 30m, 3m): two control replicas, --edges edges, a private redis-server and a private PostgreSQL, open-loop at half peak (or --rate), with faults in rotation.",
        discussion: "Needs PostgreSQL's server binaries (initdb, pg_ctl); ignores --cluster-database."))
    var soak: String?

    @Option(help: "Soak: time between faults (default: the shorter of 3m and a fifth of the soak).")
    var faultInterval: String?

    @Option(help: "Soak: seconds between RSS and open-descriptor samples (also taken at each fault).")
    var sampleInterval = 60.0

    @Option(help: "Soak: path prefix of the samples (.csv), summary (.txt) and plot (.png) (default: Benchmarks/soak-<duration>).")
    var soakOutput: String?

    mutating func validate() throws {
        guard requests > 0, concurrency > 0, warmup >= 0, verifySample >= 0, cryptoSeconds > 0 else {
            throw ValidationError("--requests and --concurrency must be positive; --warmup, --verify-sample >= 0")
        }
        guard connections > 0, sampleInterval > 0 else { throw ValidationError("--connections and --sample-interval must be positive") }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        if repeats > 1 {
            let oneRunOnly = [
                ("--sweep-concurrency", sweepConcurrency != nil), ("--against-empty", againstEmpty), ("--soak", soak != nil),
                ("--profile", profile != nil), ("--json", json != nil),
            ].filter(\.1).map(\.0)
            guard oneRunOnly.isEmpty else {
                throw ValidationError("--repeats measures one closed-loop or --rate figure per run; drop \(oneRunOnly.joined(separator: ", "))")
            }
        }
        if storesCPU != nil {
            guard clusterDatabase != nil, soak == nil, !againstEmpty else {
                throw ValidationError("--stores-cpu places the stores of a --cluster-database run; it does not apply to scepter dev, --soak or --against-empty")
            }
        }
        if let rate { _ = try Rate(parsing: rate) }
        if let soak { _ = try Self.seconds(of: soak, option: "--soak") }
        if let faultInterval { _ = try Self.seconds(of: faultInterval, option: "--fault-interval") }
        _ = try sweepConcurrencies()
        if againstEmpty {
            guard clusterDatabase != nil, seeding.isRequested else {
                throw ValidationError("--against-empty compares a seeded cluster with an empty one: give --cluster-database and --seed-certificates")
            }
            let ignored = [("--rate", rate != nil), ("--soak", soak != nil), ("--profile", profile != nil), ("--json", json != nil)].filter(\.1).map(\.0)
            guard ignored.isEmpty else {
                throw ValidationError("--against-empty runs closed-loop pairs only; drop \(ignored.joined(separator: ", "))")
            }
        }
    }

    /// `--sweep-concurrency` as numbers (empty when not given).
    func sweepConcurrencies() throws -> [Int] {
        guard let sweepConcurrency else { return [] }
        let values = sweepConcurrency.split(separator: ",").map { Int($0.trimmingSpaces()) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--sweep-concurrency \(sweepConcurrency): expected positive numbers separated by commas, e.g. 1,4,16,64,256")
        }
        return values.map { $0! }
    }

    func run() throws {
        if let soak {
            try runSoak(duration: Self.seconds(of: soak, option: "--soak"))
            return
        }
        let binary = try resolveBinary()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if !keepData { try? FileManager.default.removeItem(atPath: base) } }

        if againstEmpty {
            try runAgainstEmpty(binary: binary, directory: base)
            return
        }
        guard repeats > 1 else {
            _ = try measure(binary: binary, directory: base)
            return
        }
        var figures: [RunFigure] = []
        for index in 1...repeats {
            note("run \(index) of \(repeats): a fresh \(clusterDatabase == nil ? "server" : "cluster")")
            let directory = base + "/run-\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if let figure = try measure(binary: binary, directory: directory) { figures.append(figure) }
        }
        print(RunFigure.summary(figures, mode: modeName + ", CA key \(caKey.rawValue)"))
    }

    /// One server (or cluster) from start to stop: the sweep, the open loop or
    /// the closed-loop run the options ask for. Returns the run's figure
    /// against its target (none for a sweep).
    func measure(binary: String, directory base: String) throws -> RunFigure? {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let loadBefore = ProcStat.loadAverage()
        let server: any ServerUnderTest
        if let clusterDatabase {
            note("starting a cluster (control, \(edges) edges, redis; PostgreSQL \(clusterDatabase)) on CPU \(serverCPU)"
                + (storesCPU.map { ", PostgreSQL and redis on CPU \($0)" } ?? ""))
            server = try ClusterUnderTest(
                binary: binary, cpu: serverCPU, directory: base, database: clusterDatabase, edges: edges, logLevel: serverLogLevel,
                caKey: caKey, keepDatabase: keepData, storesCPU: storesCPU)
        } else {
            note("starting \(binary) dev on CPU \(serverCPU)")
            server = try ServerProcess(binary: binary, cpu: serverCPU, dataDir: base + "/data", logLevel: serverLogLevel, caKey: caKey)
        }
        defer { server.stop() }
        if let cluster = server as? ClusterUnderTest { try seeding.seed(cluster.databaseURL) }
        let pids = server.sampledProcesses().map { "\($0.name) \($0.pids.map(String.init).joined(separator: "/"))" }
        note("server processes \(pids.joined(separator: ", ")) listening on 127.0.0.1:\(server.ports.map(String.init).joined(separator: ","))")

        let (ca, ra) = try Self.publishedCAAndRA(server)
        let bound = try timeCrypto(server)

        let sweep = try sweepConcurrencies()
        if !sweep.isEmpty {
            try runSweep(sweep, server: server, bound: bound, ra: ra, ca: ca)
            return nil
        }
        if let rate {
            return try runOpenLoop(Rate(parsing: rate), server: server, bound: bound, ra: ra, ca: ca)
        }

        // Pre-generation: keys, CSRs and PKIMessages, on every CPU; not measured.
        let total = warmup + requests
        note("pre-generating \(total) PKCSReq messages (RSA-2048 key, CSR, AES-128, SHA-256 each) on \(cpus) threads")
        let generationStart = Clock.monotonicSeconds()
        let enrollments = try Self.generate(total, challenge: server.challenge, ra: ra, threads: cpus, keyCache: keyCache)
        let generationSeconds = Clock.monotonicSeconds() - generationStart
        note(String(format: "pre-generated in %.1f s", generationSeconds))

        if warmup > 0 {
            note("warm-up: \(warmup) enrollments")
            let outcomes = Self.load(Array(enrollments[0..<warmup]), concurrency: concurrency, ports: server.ports, cpu: clientCPU)
            try Self.check(outcomes, enrollments: Array(enrollments[0..<warmup]), ra: ra, ca: ca, sample: 0)
        }

        note("measuring: \(requests) enrollments, concurrency \(concurrency), load generator on CPU \(clientCPU)")
        let measured = Array(enrollments[warmup...])
        let profiler = try profile.map { try Profiler(pid: try server.pid(named: profileProcess), output: $0, cpu: clientCPU) }
        let serverCoreBusyBefore = ProcStat.busySeconds(cpu: serverCPU)
        let serverCPUBefore = try server.cpuSeconds()
        let onServerCoreBefore = try server.cpuSecondsOnServerCore()
        let byProcessBefore = (server as? ClusterUnderTest)?.cpuByProcess() ?? [:]
        let clientCPUBefore = try ProcStat.cpuSeconds(pid: getpid())
        let wallStart = Clock.monotonicSeconds()
        let outcomes = Self.load(measured, concurrency: concurrency, ports: server.ports, cpu: clientCPU)
        let wall = Clock.monotonicSeconds() - wallStart
        let serverCPUSeconds = try server.cpuSeconds() - serverCPUBefore
        let onServerCore = try server.cpuSecondsOnServerCore() - onServerCoreBefore
        let byProcessAfter = (server as? ClusterUnderTest)?.cpuByProcess() ?? [:]
        if server is ClusterUnderTest {
            note("server CPU per enrollment by process: " + ClusterUnderTest.perEnrollmentLine(before: byProcessBefore, after: byProcessAfter, enrollments: requests))
        }
        let serverCoreBusy = ProcStat.busySeconds(cpu: serverCPU).flatMap { after in serverCoreBusyBefore.map { after - $0 } }
        let clientCPUSeconds = try ProcStat.cpuSeconds(pid: getpid()) - clientCPUBefore
        profiler?.stop()
        let rss = server.residentMiB()
        let loadAfter = ProcStat.loadAverage()
        // Timed again now the server idles: when the two differ, the host's speed changed around the run.
        let boundAfter = try timeCrypto(server, again: true)
        let floor: CostFloor?
        if server is ClusterUnderTest {
            let crypto = (bound.millisecondsPerEnrollment + boundAfter.millisecondsPerEnrollment) / 2
            floor = CostFloor.stores(before: byProcessBefore, after: byProcessAfter, enrollments: requests, cryptoMilliseconds: crypto)
        } else if let profile {
            note("reading the profile for the crypto's and SQLite's shares (perf script)")
            do {
                floor = try CostFloor.fromProfile(profile, serverMilliseconds: serverCPUSeconds * 1000 / Double(requests))
            } catch {
                // The run's figures stand without it; the profile stays for reading by hand.
                note("no floor for this run: \(error)")
                floor = nil
            }
        } else {
            floor = nil
        }

        note("checking \(outcomes.count) replies (\(min(verifySample, outcomes.count)) fully)")
        let verified = try Self.check(outcomes, enrollments: measured, ra: ra, ca: ca, sample: verifySample).verified
        server.stop()

        let latencies = outcomes.map(\.latencyMilliseconds).sorted()
        let mode = modeName + ", CA key \(caKey.rawValue)"
        let result = BenchResult(
            machine: MachineFacts.read(), mode: mode, binary: binary, serverCPU: serverCPU, clientCPU: clientCPU, storesCPU: storesCPU,
            serverLogLevel: serverLogLevel ?? "info (default)", requests: requests, concurrency: concurrency, warmup: warmup,
            bound: bound, boundAfter: boundAfter, serverCPUSeconds: serverCPUSeconds, clientCPUSeconds: clientCPUSeconds, wallSeconds: wall,
            latencyP50: percentile(latencies, 0.50), latencyP99: percentile(latencies, 0.99), latencyMax: latencies.last ?? 0,
            fullyVerified: verified, serverRSSMiB: rss, generationSeconds: generationSeconds,
            loadAverageBefore: loadBefore, loadAverageAfter: loadAfter,
            otherWorkOnServerCPU: serverCoreBusy.map { max(0, $0 - onServerCore) / wall }, floor: floor)
        print(result.table())
        if let json {
            try result.json().write(to: URL(fileURLWithPath: json))
            note("figures written to \(json)")
        }
        if keepData { note("server data and log kept in \(base)") }
        return .multiple(of: result)
    }

    /// GetCACert: the CA, and the RA the certificate requests are encrypted to.
    static func publishedCAAndRA(_ server: any ServerUnderTest) throws -> (ca: X509Cert, ra: X509Cert) {
        let caResponse = try HTTPConnection(port: server.ports[0]).get("/scep?operation=GetCACert")
        guard caResponse.status == 200 else { throw BenchError("GetCACert answered HTTP \(caResponse.status)") }
        let published = try SCEPMessages.certificates(ofDegenerate: caResponse.body)
        guard let ca = published.first(where: \.isCA), let ra = published.first(where: { !$0.isCA }) else {
            throw BenchError("GetCACert did not return a CA and an RA certificate")
        }
        return (ca, ra)
    }

    /// The crypto bound, on the server's CPU while the server idles, with its own keys.
    func timeCrypto(_ server: any ServerUnderTest, again: Bool = false) throws -> CryptoBound {
        note("timing the RSA operations on CPU \(serverCPU) (\(cryptoSeconds) s each)\(again ? ", again after the measured phase" : "")")
        let raKeyPEM = try String(contentsOfFile: server.raKeyPath, encoding: .utf8)
        let caKeyPEM = try String(contentsOfFile: server.caKeyPath, encoding: .utf8)
        let probeDevice = try Device(commonName: "crypto-probe", challenge: server.challenge)
        let boundResult = Mutex<Result<CryptoBound, any Error>?>(nil)
        let seconds = cryptoSeconds
        runThreads(1, cpu: serverCPU) { _ in
            let result = Result { try CryptoBound.measure(raKeyPEM: raKeyPEM, caKeyPEM: caKeyPEM, device: probeDevice, seconds: seconds) }
            boundResult.withLock { $0 = result }
        }
        return try boundResult.withLock { $0! }.get()
    }

    func resolveBinary() throws -> String {
        let candidates: [String]
        if let binary {
            candidates = [binary]
        } else {
            // From the repository root or from Benchmarks/.
            let cwd = FileManager.default.currentDirectoryPath
            candidates = [cwd + "/.build-release/release/scepter", cwd + "/../.build-release/release/scepter"]
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate).standardizedFileURL.path
        }
        throw BenchError(
            "no scepter binary at \(candidates.joined(separator: " or ")); build it with "
                + "`swift build -c release --product scepter --scratch-path .build-release` or pass --binary")
    }

    // MARK: - Pre-generation

    static func generate(_ count: Int, challenge: String, ra: X509Cert, threads: Int, keyCache: String?) throws -> [Enrollment] {
        if let keyCache { try FileManager.default.createDirectory(atPath: keyCache, withIntermediateDirectories: true) }
        let counter = WorkCounter()
        let made = Collector<(Int, Enrollment)>()
        let failures = Collector<String>()
        let runID = String(UInt32.random(in: .min ... .max), radix: 16)
        runThreads(max(1, threads), cpu: nil) { _ in
            var local: [(Int, Enrollment)] = []
            while failures.all.isEmpty {
                let index = counter.take()
                guard index < count else { break }
                do {
                    let cached = keyCache.map { "\($0)/device-\(index).der" }
                    let keyDER = cached.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
                    let device = try Device(commonName: "bench-\(runID)-\(index)", challenge: challenge, keyDER: keyDER)
                    if let cached, keyDER == nil {
                        try Data(device.keyDER).write(to: URL(fileURLWithPath: cached), options: .atomic)
                    }
                    let transactionID = randomHex(16)
                    let nonce = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
                    let body = try SCEPMessages.pkcsReq(device: device, ra: ra, transactionID: transactionID, senderNonce: nonce)
                    local.append((index, Enrollment(device: device, transactionID: transactionID, senderNonce: nonce, body: body)))
                } catch {
                    failures.append(["enrollment \(index): \(error)"])
                }
            }
            made.append(local)
        }
        if let failure = failures.all.first { throw BenchError("pre-generation failed: \(failure)") }
        return made.all.sorted { $0.0 < $1.0 }.map(\.1)
    }

    // MARK: - Load

    struct Outcome: Sendable {
        var index: Int
        var latencyMilliseconds: Double
        var status: Int
        var body: [UInt8]
        var error: String?
    }

    /// Sends every enrollment once, `concurrency` at a time, from threads
    /// pinned to `cpu`, each on its own keep-alive connection.
    static func load(_ enrollments: [Enrollment], concurrency: Int, ports: [UInt16], cpu: Int) -> [Outcome] {
        let counter = WorkCounter()
        let collected = Collector<Outcome>()
        runThreads(min(concurrency, enrollments.count), cpu: cpu) { thread in
            // Each connection stays on one edge; connections are spread evenly.
            let connection = HTTPConnection(port: ports[thread % ports.count])
            var local: [Outcome] = []
            while true {
                let index = counter.take()
                guard index < enrollments.count else { break }
                let start = Clock.monotonicNanoseconds()
                do {
                    let response = try connection.post(
                        "/scep?operation=PKIOperation", contentType: "application/x-pki-message", body: enrollments[index].body)
                    let latency = Double(Clock.monotonicNanoseconds() - start) / 1e6
                    local.append(Outcome(index: index, latencyMilliseconds: latency, status: response.status, body: response.body))
                } catch {
                    let latency = Double(Clock.monotonicNanoseconds() - start) / 1e6
                    local.append(Outcome(index: index, latencyMilliseconds: latency, status: 0, body: [], error: "\(error)"))
                    connection.close()
                }
            }
            collected.append(local)
        }
        return collected.all.sorted { $0.index < $1.index }
    }

    /// What `check` found: how many replies were fully verified, and which
    /// were PENDING (only with `allowPending`), by enrollment index.
    struct Checked {
        var verified = 0
        var pending: [Int] = []
    }

    /// Every reply must be HTTP 200 with a SUCCESS CertRep echoing the
    /// request (or, with `allowPending`, a PENDING one: the control plane had
    /// not answered within the edge's wait budget, and a device would poll);
    /// `sample` of the SUCCESS ones, spread over the run, are fully verified.
    @discardableResult
    static func check(
        _ outcomes: [Outcome], enrollments: [Enrollment], ra: X509Cert, ca: X509Cert, sample: Int, allowPending: Bool = false
    ) throws -> Checked {
        var problems: [String] = []
        var pending: Set<Int> = []
        for outcome in outcomes {
            let enrollment = enrollments[outcome.index]
            if let error = outcome.error {
                problems.append("#\(outcome.index): \(error)")
                continue
            }
            guard outcome.status == 200 else {
                problems.append("#\(outcome.index): HTTP \(outcome.status): \(String(decoding: outcome.body.prefix(200), as: UTF8.self))")
                continue
            }
            do {
                let header = try SCEPMessages.header(ofReply: outcome.body)
                guard header.messageType == "3" else { throw BenchError("messageType \(header.messageType ?? "none"), not CertRep (3)") }
                guard header.transactionID == enrollment.transactionID else { throw BenchError("transactionID not echoed") }
                guard header.recipientNonce == enrollment.senderNonce else { throw BenchError("recipientNonce != senderNonce") }
                if allowPending && header.pkiStatus == "3" {
                    pending.insert(outcome.index)
                    continue
                }
                guard header.pkiStatus == "0" else {
                    throw BenchError("pkiStatus \(header.pkiStatus ?? "none") (failInfo \(header.failInfo ?? "none")), not SUCCESS")
                }
            } catch {
                problems.append("#\(outcome.index): \(error)")
            }
        }
        var verified = 0
        if problems.isEmpty && sample > 0 && !outcomes.isEmpty {
            let step = max(1, outcomes.count / sample)
            for outcome in stride(from: 0, to: outcomes.count, by: step).prefix(sample).map({ outcomes[$0] }) where !pending.contains(outcome.index) {
                do {
                    try SCEPMessages.verifyReply(outcome.body, enrollment: enrollments[outcome.index], ra: ra, ca: ca)
                    verified += 1
                } catch {
                    problems.append("#\(outcome.index): \(error)")
                }
            }
        }
        if !problems.isEmpty {
            throw BenchError(
                "\(problems.count) of \(outcomes.count) replies are wrong; first ones:\n  "
                    + problems.prefix(5).joined(separator: "\n  "))
        }
        return Checked(verified: verified, pending: pending.sorted())
    }
}

/// A progress line on standard error. Standard output is flushed first: into
/// a pipe it is block-buffered, and a report (`tee`) would otherwise show a
/// run's notes in the middle of the figures printed before them.
func note(_ message: String) {
    fflush(nil)  // every output stream: `stdout` itself is not concurrency-safe to name
    FileHandle.standardError.write(Data(("scepter-bench: " + message + "\n").utf8))
}

func randomHex(_ bytes: Int) -> String {
    (0..<bytes).map { _ in
        let byte = UInt8.random(in: .min ... .max)
        return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined()
}

func percentile(_ sorted: [Double], _ quantile: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((quantile * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
