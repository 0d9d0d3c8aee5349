import Foundation
import Glibc
import Synchronization

/// `--soak DURATION`: the cluster (two control replicas behind a proxy, the
/// edges, a private redis-server and a private PostgreSQL) under open-loop
/// load at half its closed-loop peak for DURATION, with a fault every
/// `--fault-interval` in rotation; every request retried until it is
/// answered SUCCESS; at the end, every issued certificate checked against
/// the audit log; RSS and open descriptors sampled every `--sample-interval`
/// and at each fault, written as CSV (and plotted by scripts/bench).
extension ScepterBench {
    enum Fault: String, CaseIterable, Sendable {
        case redisRestart = "redis restart"
        case controlTerm = "control replica SIGTERM"
        case postgresRestart = "PostgreSQL restart"
        case edgeKill = "edge SIGKILL"
    }

    struct FaultEvent {
        var seconds: Double
        var fault: Fault
        var target: String
        /// From the signal to the process's exit (the drain, for SIGTERM).
        var stopSeconds: Double
        /// From the signal until it serves again.
        var outageSeconds: Double
        var error: String?
    }

    /// Parses `90s`, `30m`, `1h` or plain seconds.
    static func seconds(of text: String, option: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            number = number.dropLast()
            unit = factor
        }
        guard let value = Double(number), value > 0 else { throw BenchError("\(option) \(text): expected a duration such as 90s, 30m or 1h") }
        return value * unit
    }

    func runSoak(duration: Double) throws {
        let binary = try resolveBinary()
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-soak-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { if !keepData { try? FileManager.default.removeItem(atPath: base) } }
        let interval = try faultInterval.map { try Self.seconds(of: $0, option: "--fault-interval") } ?? min(180, duration / 5)
        let output = soakOutput ?? (FileManager.default.fileExists(atPath: "Benchmarks") ? "Benchmarks/" : "") + "soak-\(soak ?? "")"

        note("starting a private PostgreSQL in \(base)/postgres")
        let postgres = try PrivatePostgres(directory: base + "/postgres", cpu: serverCPU)
        defer { postgres.stop() }
        note("starting the cluster: 2 control replicas behind a proxy, \(edges) edges, redis (append-only file); all on CPU \(serverCPU)")
        let cluster = try ClusterUnderTest(
            binary: binary, cpu: serverCPU, directory: base, database: postgres.url, edges: edges, logLevel: serverLogLevel,
            controlReplicas: 2, proxyCPU: clientCPU, redisAppendOnly: true, keepDatabase: keepData)
        defer { cluster.stop() }
        let database = String(cluster.databaseURL.split(separator: "/").last ?? "")

        let (ca, ra) = try Self.publishedCAAndRA(cluster)
        let factory = try MessageFactory(keys: 128, challenge: cluster.challenge, ra: ra, keyCache: keyCache, threads: threads)
        if warmup > 0 {
            note("warm-up: \(warmup) enrollments")
            let messages = try factory.make(count: warmup, threads: threads)
            try Self.check(Self.load(messages, concurrency: concurrency, ports: cluster.ports, cpu: clientCPU), enrollments: messages, ra: ra, ca: ca, sample: 0)
        }

        let requestedRate = try rate.map { try Rate(parsing: $0) } ?? .halfPeak
        let perSecond: Double
        var peakLine = ""
        switch requestedRate {
        case .perSecond(let value):
            perSecond = value
        case .halfPeak:
            note("closed-loop peak: \(requests) enrollments at concurrency \(concurrency)")
            // A PENDING reply at saturation is an answer, not a failure: the
            // device polls, and so does the harness, after the measurement.
            let messages = try factory.make(count: requests, threads: threads)
            let peak = try measureClosedLoop(messages, concurrency: concurrency, server: cluster, ra: ra, ca: ca, allowPending: true)
            perSecond = peak.perSecond / 2
            peakLine = String(format: "closed-loop peak %.1f enrollments/s at concurrency %d (%.3f ms server CPU each", peak.perSecond, concurrency, peak.serverCPUMilliseconds)
            if peak.pending.isEmpty {
                peakLine += "); "
            } else {
                let polls = try Self.collectPending(peak.pending.map { messages[$0] }, ports: cluster.ports, cpu: clientCPU, ra: ra, ca: ca)
                peakLine += String(
                    format: "; %d answered PENDING, each SUCCESS when sent again within %d polls; the peak's slowest reply %.0f ms); ",
                    peak.pending.count, polls, peak.latencies.last ?? 0)
            }
        }
        let count = Int(perSecond * duration)
        note(peakLine + String(format: "soak: %d enrollments at %.1f/s for %.0f s, a fault every %.0f s", count, perSecond, duration, interval))

        let registry = cluster.registry
        let postgresPort = Int(postgres.port)
        let sampler = ResourceSampler(interval: sampleInterval) {
            registry.processes + [(name: "postgres", pids: ClusterUnderTest.postgresPIDs(port: postgresPort))]
        }
        let loadBefore = ProcStat.loadAverage()
        sampler.run(cpu: clientCPU)
        let live = OpenLoop.Live()
        let settings = OpenLoop.Settings(
            rate: perSecond, count: count, connections: connections, ports: cluster.ports, cpu: clientCPU, retryFor: 300, replyTimeout: 30)
        let outcome = OnceValue<OpenLoop.Result?>(nil)
        let loadThread = Thread {
            outcome.set(OpenLoop.run(settings, live: live) { index in try factory.make(index) })
        }
        loadThread.stackSize = 1 << 20
        let start = Clock.monotonicSeconds()
        loadThread.start()

        // Faults in rotation, none in the last half interval.
        var events: [FaultEvent] = []
        var nextReport = start + 60
        // CPU 0's busy time and the server processes' CPU, each minute: how much of the core others took.
        let cpuSnapshot = { () -> CPUSnapshot in
            let pids = registry.processes.flatMap(\.pids) + ClusterUnderTest.postgresPIDs(port: postgresPort)
            return CPUSnapshot(
                seconds: Clock.monotonicSeconds() - start, coreBusy: ProcStat.busySeconds(cpu: self.serverCPU),
                serverCPU: Dictionary(pids.compactMap { pid in (try? ProcStat.cpuSeconds(pid: pid)).map { (pid, $0) } }) { first, _ in first })
        }
        var snapshots = [cpuSnapshot()]
        var faultIndex = 0
        var controlTurn = 0
        var edgeTurn = 0
        while Double(faultIndex + 1) * interval <= duration - interval / 2 {
            let due = start + Double(faultIndex + 1) * interval
            while Clock.monotonicSeconds() < due {
                if Clock.monotonicSeconds() >= nextReport {
                    reportProgress(live: live, since: start, count: count)
                    snapshots.append(cpuSnapshot())
                    nextReport += 60
                }
                usleep(200_000)
            }
            let fault = Fault.allCases[faultIndex % Fault.allCases.count]
            let target: String
            switch fault {
            case .redisRestart: target = "redis"
            case .controlTerm: target = "control-\(controlTurn % 2)"; controlTurn += 1
            case .postgresRestart: target = "postgres"
            case .edgeKill: target = "edge-\(edgeTurn % edges)"; edgeTurn += 1
            }
            sampler.sample(label: "before \(fault.rawValue) (\(target))")
            // The processes this fault ends (a replica, an edge, PostgreSQL's
            // backends) are missing from every later snapshot: count their
            // CPU up to here, or the minute before the fault shows it as
            // "other work" (20-26 % before each control SIGTERM in the 2-hour soak).
            snapshots.append(cpuSnapshot())
            let at = Clock.monotonicSeconds()
            var event = FaultEvent(seconds: at - start, fault: fault, target: target, stopSeconds: 0, outageSeconds: 0)
            do {
                switch fault {
                case .redisRestart:
                    event.stopSeconds = try cluster.stopChild(target, signal: SIGTERM)
                    try cluster.restartChild(target)
                case .controlTerm:
                    event.stopSeconds = try cluster.stopChild(target, signal: SIGTERM)
                    try cluster.restartChild(target)
                case .postgresRestart:
                    try postgres.restart()
                case .edgeKill:
                    event.stopSeconds = try cluster.stopChild(target, signal: SIGKILL)
                    try cluster.restartChild(target)
                }
            } catch {
                event.error = "\(error)"
                note("fault \(fault.rawValue) (\(target)) went wrong: \(error)")
            }
            event.outageSeconds = Clock.monotonicSeconds() - at
            note(String(format: "%.0f s: %@ (%@): stopped in %.1f s, serving again after %.1f s", event.seconds, fault.rawValue, target, event.stopSeconds, event.outageSeconds))
            sampler.sample(label: "after \(fault.rawValue) (\(target))")
            events.append(event)
            faultIndex += 1
        }
        // The load ends within `retryFor` of its last scheduled request.
        let loadDeadline = start + duration + settings.retryFor! + 60
        while Clock.monotonicSeconds() < loadDeadline, live.done.load(ordering: .relaxed) < count {
            if Clock.monotonicSeconds() >= nextReport {
                reportProgress(live: live, since: start, count: count)
                snapshots.append(cpuSnapshot())
                nextReport += 60
            }
            usleep(200_000)
        }
        guard let result = outcome.waitForValue(timeout: max(1, loadDeadline - Clock.monotonicSeconds())) else {
            throw BenchError("the load did not finish within \(Int(loadDeadline - start)) s; requests hang (see the cluster logs in \(base), kept)")
        }
        sampler.sample(label: "end of load")
        sampler.stop()
        let loadAfter = ProcStat.loadAverage()

        note("checking the audit log and the inventory in PostgreSQL")
        let audit = try checkAudit(result: result, postgres: postgres, database: database, directory: base)

        try sampler.writeCSV(to: output + ".csv")
        var lines: [String] = []
        lines.append("Soak (\(soak ?? ""), cluster: 2 control replicas behind a TCP proxy + \(edges) edges + redis (appendonly yes) + PostgreSQL, every server process on CPU \(serverCPU))")
        lines.append(peakLine + String(format: "open loop at %.1f/s for %.0f s: %d requests over %d connections", perSecond, duration, count, connections))
        lines.append("  answered SUCCESS          \(result.answered.count) of \(count); never answered within \(Int(settings.retryFor!)) s: \(result.unanswered.count)")
        for request in result.unanswered.prefix(5) { lines.append("    #\(request.index) \(request.transactionID): \(request.problem ?? "?")") }
        lines.append("  retries                   \(result.totalRetries) (\(result.retrySummary())); requests retried: \(result.requests.filter { $0.attempts > 1 }.count)")
        lines.append("  latency from scheduled    \(result.latencySummary()) (all requests, faults included)")
        let quiet = quietLatencies(result: result, events: events)
        lines.append(String(format: "  away from faults          p50 / p99 / max %.1f / %.1f / %.1f ms (requests scheduled more than 60 s after a fault's start)", percentile(quiet, 0.5), percentile(quiet, 0.99), quiet.last ?? 0))
        lines.append(String(format: "  missed slots              %d (no connection free at the scheduled time); latest send %.0f ms after its time", result.missedSlots, result.maxLateMilliseconds))
        lines.append(String(format: "  late sends                %d more than %.0f ms late with a connection ready (the load generator's CPU was busy)", result.lateWakeups, result.slotTolerance * 1000))
        lines.append("  faults")
        for event in events {
            let what = "\(event.fault.rawValue) (\(event.target))"
            lines.append(
                String(format: "    %6.0f s  ", event.seconds) + what.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + String(format: "stopped in %5.1f s, serving again after %5.1f s", event.stopSeconds, event.outageSeconds)
                    + (event.error.map { "  ERROR: " + $0 } ?? ""))
        }
        lines.append("  audit                     " + audit)
        lines.append(
            "  per minute, by scheduled time (CPU \(serverCPU) busy: the server core's busy time; server ms: the server processes' CPU per request scheduled in the minute; other work: CPU \(serverCPU)'s busy time not spent by the server processes)")
        lines += perMinute(result: result, events: events, snapshots: snapshots).map { "    " + $0 }
        lines.append(String(format: "  memory (first vs last %.0f s of the soak: mean RSS MiB, mean open fds, mean processes; peak RSS)", min(600, duration / 3)))
        lines += flatness(sampler.all, window: min(600, duration / 3), end: duration).map { "    " + $0 }
        lines.append(String(format: "  load average (1 min)      %.2f before, %.2f after", loadBefore ?? 0, loadAfter ?? 0))
        lines.append("  samples                   \(output).csv")
        let summary = lines.joined(separator: "\n")
        print(summary)
        try (summary + "\n").write(toFile: output + ".txt", atomically: true, encoding: .utf8)
        plot(csv: output + ".csv", png: output + ".png", events: events)
        if keepData { note("cluster logs and data kept in \(base)") }
    }

    struct CPUSnapshot {
        var seconds: Double
        var coreBusy: Double?
        /// CPU seconds so far of each server process, by pid.
        var serverCPU: [Int32: Double]

        /// The server processes' CPU from `earlier` to this snapshot, process
        /// by process: one that started in between counts from 0 (a restarted
        /// replica, a new PostgreSQL backend). One that ended in between is
        /// missing from this snapshot, and so is its CPU since `earlier` (an
        /// undercount; the soak snapshots right before each fault, so only a
        /// process that exits on its own loses part of a minute), but not, as a difference of
        /// totals would have it, its whole lifetime's: a long-lived backend
        /// closed by the pool's idle timeout used to show as minutes of
        /// "other work".
        func serverCPU(since earlier: CPUSnapshot) -> Double {
            serverCPU.reduce(0) { total, entry in total + max(0, entry.value - (earlier.serverCPU[entry.key] ?? 0)) }
        }
    }

    /// One line per minute of the soak: requests, latency, retried, missed slots, the server core's load, faults.
    private func perMinute(result: OpenLoop.Result, events: [FaultEvent], snapshots: [CPUSnapshot]) -> [String] {
        let byMinute = Dictionary(grouping: result.requests) { Int($0.scheduled / 60) }
        var lines = ["minute  requests  p50 / p99 / max ms             retried  missed  CPU 0 busy  server ms  other work  faults"]
        for minute in byMinute.keys.sorted() {
            let requests = byMinute[minute]!
            let latencies = requests.filter(\.answered).map(\.latencyMilliseconds).sorted()
            let faults = events.filter { Int($0.seconds / 60) == minute }.map { "\($0.fault.rawValue) (\($0.target))" }
            var (busy, perRequest, other) = ("-", "-", "-")
            // Snapshots are taken about every 60 s.
            if let from = snapshots.last(where: { $0.seconds <= Double(minute) * 60 + 5 }),
                let to = snapshots.first(where: { $0.seconds >= Double(minute + 1) * 60 - 5 }),
                let busyFrom = from.coreBusy, let busyTo = to.coreBusy, to.seconds > from.seconds
            {
                let seconds = to.seconds - from.seconds
                busy = String(format: "%.0f %%", (busyTo - busyFrom) / seconds * 100)
                let server = to.serverCPU(since: from)
                other = String(format: "%.0f %%", max(0, busyTo - busyFrom - server) / seconds * 100)
                // The snapshots' window is about a minute; scale the minute's requests to it.
                perRequest = String(format: "%.2f", server / (Double(requests.count) * seconds / 60) * 1000)
            }
            func column(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
            lines.append(
                String(
                    format: "%6d  %8d  %8.1f / %8.1f / %8.1f  %7d  %6d  ", minute, requests.count, percentile(latencies, 0.5),
                    percentile(latencies, 0.99), latencies.last ?? 0, requests.filter { $0.attempts > 1 }.count,
                    requests.filter(\.missedSlot).count)
                    + column(busy, 10) + "  " + column(perRequest, 9) + "  " + column(other, 10) + "  " + faults.joined(separator: ", "))
        }
        return lines
    }

    private func reportProgress(live: OpenLoop.Live, since start: Double, count: Int) {
        let done = live.done.load(ordering: .relaxed)
        note(String(
            format: "%.0f s: %d of %d done, %d retries, %d unanswered, load average %.2f", Clock.monotonicSeconds() - start, done, count,
            live.retries.load(ordering: .relaxed), live.unanswered.load(ordering: .relaxed), ProcStat.loadAverage() ?? 0))
    }

    /// Latencies of the requests scheduled at least 60 s after every fault before them began.
    private func quietLatencies(result: OpenLoop.Result, events: [FaultEvent]) -> [Double] {
        result.answered.filter { request in
            !events.contains { request.scheduled >= $0.seconds - 1 && request.scheduled < $0.seconds + 60 }
        }.map(\.latencyMilliseconds).sorted()
    }

    /// Every transactionID answered SUCCESS must have one certificate and a
    /// `success` audit row (the edge's event; the control plane's provisional
    /// row counts separately). Waits up to 3 minutes for the audit consumer.
    private func checkAudit(result: OpenLoop.Result, postgres: PrivatePostgres, database: String, directory: String) throws -> String {
        let list = directory + "/answered.txt"
        try result.answered.map(\.transactionID).joined(separator: "\n").appending("\n").write(toFile: list, atomically: true, encoding: .utf8)
        chmod(list, 0o644)
        let script = directory + "/audit.sql"
        try """
            CREATE TEMP TABLE answered (transaction_id text PRIMARY KEY);
            \\copy answered FROM '\(list)'
            SELECT
              (SELECT count(*) FROM answered),
              (SELECT count(*) FROM answered t WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.transaction_id = t.transaction_id)),
              (SELECT count(*) FROM (SELECT c.transaction_id FROM certificates c JOIN answered t USING (transaction_id) GROUP BY 1 HAVING count(*) > 1) d),
              (SELECT count(*) FROM answered t WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.transaction_id = t.transaction_id AND a.outcome = 'success' AND NOT a.provisional)),
              (SELECT count(*) FROM answered t WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.transaction_id = t.transaction_id AND a.outcome = 'success')),
              (SELECT count(*) FROM certificates),
              (SELECT count(*) FROM audit_events WHERE outcome = 'success' AND NOT provisional),
              (SELECT string_agg(transaction_id, ' ') FROM (SELECT transaction_id FROM answered t WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.transaction_id = t.transaction_id AND a.outcome = 'success' AND NOT a.provisional) LIMIT 5) m);

            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o644)
        let deadline = Clock.monotonicSeconds() + 180
        var fields: [String] = []
        var previous = ""
        var stableSince = Clock.monotonicSeconds()
        while true {
            let output = try PrivatePostgres.capture(
                postgres.binDirectory + "/psql",
                ["-h", "127.0.0.1", "-p", "\(postgres.port)", "-U", "postgres", "-d", database, "-At", "-q", "-v", "ON_ERROR_STOP=1", "-f", script])
            let line = output.split(separator: "\n").last.map(String.init) ?? ""
            fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 8 else { throw BenchError("unexpected audit query output: \(output.prefix(300))") }
            let missingEdgeRows = Int(fields[3]) ?? -1
            if missingEdgeRows == 0 { break }
            if line != previous { previous = line; stableSince = Clock.monotonicSeconds() }
            // The consumer may still be copying; give up once nothing changes for 30 s.
            if Clock.monotonicSeconds() > deadline || Clock.monotonicSeconds() - stableSince > 30 { break }
            usleep(2_000_000)
        }
        var text = "\(fields[0]) transactionIDs answered SUCCESS: \(fields[1]) without a certificate, \(fields[2]) with more than one, "
            + "\(fields[3]) without the edge's `success` audit row (\(fields[4]) without any, provisional included); "
            + "database totals: \(fields[5]) certificates, \(fields[6]) edge `success` rows"
        if !fields[7].isEmpty { text += "; first missing: \(fields[7])" }
        return text
    }

    /// Per process: mean RSS and open fds in the first and the last `window` seconds, and the peak RSS.
    private func flatness(_ samples: [ResourceSampler.Sample], window: Double, end: Double) -> [String] {
        let names = Array(Set(samples.map(\.process))).sorted()
        return names.map { name in
            let mine = samples.filter { $0.process == name }
            let first = mine.filter { $0.seconds <= window }
            let last = mine.filter { $0.seconds >= end - window }
            func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
            let peak = mine.map(\.resources.residentMiB).max() ?? 0
            return name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(
                format: " RSS %6.1f -> %6.1f MiB (%+.1f %%), fds %5.1f -> %5.1f, processes %.1f -> %.1f, peak RSS %.1f MiB",
                mean(first.map(\.resources.residentMiB)), mean(last.map(\.resources.residentMiB)),
                (mean(last.map(\.resources.residentMiB)) / max(mean(first.map(\.resources.residentMiB)), 0.001) - 1) * 100,
                mean(first.map { Double($0.resources.openFiles) }), mean(last.map { Double($0.resources.openFiles) }),
                mean(first.map { Double($0.resources.processes) }), mean(last.map { Double($0.resources.processes) }), peak)
        }
    }

    /// Runs `$SCEPTER_BENCH_PYTHON $SCEPTER_BENCH_PLOT csv png` (scripts/bench sets both, with matplotlib in a venv).
    private func plot(csv: String, png: String, events: [FaultEvent]) {
        let environment = ProcessInfo.processInfo.environment
        guard let python = environment["SCEPTER_BENCH_PYTHON"], let script = environment["SCEPTER_BENCH_PLOT"] else {
            note("not plotted (run through scripts/bench, or: python3 Benchmarks/soak-plot.py \(csv) \(png) with matplotlib)")
            return
        }
        do {
            _ = try PrivatePostgres.capture(python, [script, csv, png, soak ?? ""])
            note("plot written to \(png)")
        } catch {
            note("plotting failed: \(error)")
        }
    }

    /// Sends enrollments answered PENDING again, as a device's poll would
    /// (a retransmission is idempotent by transactionID), once a second
    /// until every one is answered SUCCESS; returns how many rounds that
    /// took. Throws when one is still PENDING after 30 rounds, or is answered
    /// anything else.
    static func collectPending(_ enrollments: [Enrollment], ports: [UInt16], cpu: Int, ra: X509Cert, ca: X509Cert) throws -> Int {
        var waiting = enrollments
        for round in 1...30 {
            let checked = try check(load(waiting, concurrency: 1, ports: ports, cpu: cpu), enrollments: waiting, ra: ra, ca: ca, sample: 0, allowPending: true)
            waiting = checked.pending.map { waiting[$0] }
            if waiting.isEmpty { return round }
            Thread.sleep(forTimeInterval: 1)
        }
        throw BenchError(
            "\(waiting.count) enrollments answered PENDING in the closed-loop peak were still PENDING after 30 polls a second apart: "
                + "the control plane never committed them (see the control replicas' logs, kept with --keep-data)")
    }
}
