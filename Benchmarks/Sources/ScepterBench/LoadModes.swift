import Foundation

/// `--rate` (open-loop at a fixed arrival rate, or at half the closed-loop
/// peak) and `--sweep-concurrency` (one closed-loop row per concurrency).
extension ScepterBench {
    /// What `--rate` asks for.
    enum Rate: Sendable, CustomStringConvertible {
        case perSecond(Double)
        /// Half of the closed-loop throughput measured first, at --concurrency.
        case halfPeak

        init(parsing text: String) throws {
            if text == "half-peak" {
                self = .halfPeak
            } else if let value = Double(text), value > 0 {
                self = .perSecond(value)
            } else {
                throw BenchError("--rate \(text): expected requests per second (e.g. 100) or half-peak")
            }
        }

        var description: String {
            switch self {
            case .perSecond(let value): String(format: "%.1f/s", value)
            case .halfPeak: "half-peak"
            }
        }
    }

    /// One closed-loop phase's figures.
    struct ClosedLoopFigures {
        var concurrency: Int
        var requests: Int
        var serverCPUSeconds: Double
        var wallSeconds: Double
        var otherWorkOnServerCPU: Double?
        var latencies: [Double]
        var peaks: String
        /// The enrollments answered PENDING (with `allowPending`): the control plane had not answered within the edge's wait budget.
        var pending: [Int] = []

        var serverCPUMilliseconds: Double { serverCPUSeconds * 1000 / Double(requests) }
        var perSecond: Double { Double(requests) / wallSeconds }
    }

    /// Sends `messages` closed-loop and measures server CPU, wall time, latency and the processes' peak memory.
    func measureClosedLoop(
        _ messages: [Enrollment], concurrency: Int, server: any ServerUnderTest, ra: X509Cert, ca: X509Cert, allowPending: Bool = false
    ) throws -> ClosedLoopFigures {
        let sampler = ResourceSampler(interval: 1, processes: server.sampledProcesses)
        sampler.run(cpu: clientCPU)
        let busyBefore = ProcStat.busySeconds(cpu: serverCPU)
        let cpuBefore = try server.cpuSeconds()
        let onServerCoreBefore = try server.cpuSecondsOnServerCore()
        let byProcessBefore = (server as? ClusterUnderTest)?.cpuByProcess() ?? [:]
        let start = Clock.monotonicSeconds()
        let outcomes = Self.load(messages, concurrency: concurrency, ports: server.ports, cpu: clientCPU)
        let wall = Clock.monotonicSeconds() - start
        let cpu = try server.cpuSeconds() - cpuBefore
        let onServerCore = try server.cpuSecondsOnServerCore() - onServerCoreBefore
        if let cluster = server as? ClusterUnderTest {
            note("  by process: " + ClusterUnderTest.perEnrollmentLine(before: byProcessBefore, after: cluster.cpuByProcess(), enrollments: messages.count))
        }
        let busy = ProcStat.busySeconds(cpu: serverCPU).flatMap { after in busyBefore.map { after - $0 } }
        sampler.stop()
        let checked = try Self.check(outcomes, enrollments: messages, ra: ra, ca: ca, sample: min(verifySample, 5), allowPending: allowPending)
        return ClosedLoopFigures(
            concurrency: concurrency, requests: messages.count, serverCPUSeconds: cpu, wallSeconds: wall,
            otherWorkOnServerCPU: busy.map { max(0, $0 - onServerCore) / wall }, latencies: outcomes.map(\.latencyMilliseconds).sorted(),
            peaks: sampler.peakSummary(), pending: checked.pending)
    }

    /// `--sweep-concurrency`: one row per concurrency, `--requests` each, after one warm-up.
    func runSweep(_ concurrencies: [Int], server: any ServerUnderTest, bound: CryptoBound, ra: X509Cert, ca: X509Cert) throws {
        let factory = try MessageFactory(
            keys: 128, challenge: server.challenge, ra: ra, keyCache: keyCache, threads: ProcessInfo.processInfo.activeProcessorCount)
        if warmup > 0 {
            note("warm-up: \(warmup) enrollments")
            let messages = try factory.make(count: warmup, threads: ProcessInfo.processInfo.activeProcessorCount)
            try Self.check(Self.load(messages, concurrency: 16, ports: server.ports, cpu: clientCPU), enrollments: messages, ra: ra, ca: ca, sample: 0)
        }
        let loadBefore = ProcStat.loadAverage()
        var rows: [ClosedLoopFigures] = []
        for concurrency in concurrencies {
            let messages = try factory.make(count: requests, threads: ProcessInfo.processInfo.activeProcessorCount)
            note("concurrency \(concurrency): \(requests) enrollments")
            let figures = try measureClosedLoop(messages, concurrency: concurrency, server: server, ra: ra, ca: ca)
            note(String(format: "  %.3f ms server CPU, %.1f/s, p99 %.1f ms", figures.serverCPUMilliseconds, figures.perSecond, percentile(figures.latencies, 0.99)))
            rows.append(figures)
        }
        let loadAfter = ProcStat.loadAverage()
        print("Concurrency sweep (\(modeName), \(requests) enrollments per row, crypto \(String(format: "%.3f", bound.millisecondsPerEnrollment)) ms per enrollment in the same run)")
        print("| concurrency | server CPU ms | crypto / server CPU | enrollments/s | p50 / p99 ms | other work on CPU \(serverCPU) | peak RSS / fds |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for row in rows {
            print(String(
                format: "| %d | %.3f | %.1f %% | %.1f | %.1f / %.1f | %.1f %% | %@ |", row.concurrency, row.serverCPUMilliseconds,
                bound.millisecondsPerEnrollment / row.serverCPUMilliseconds * 100, row.perSecond, percentile(row.latencies, 0.5),
                percentile(row.latencies, 0.99), (row.otherWorkOnServerCPU ?? 0) * 100, row.peaks))
        }
        // The same concurrency repeated (e.g. 16,16,16,16,16): phases of one cluster and database, compared by their median.
        if rows.count > 1, Set(concurrencies).count == 1 {
            let costs = rows.map(\.serverCPUMilliseconds).sorted()
            print(String(
                format: "median of %d phases: %.3f ms server CPU per enrollment (range %.3f–%.3f)", costs.count, percentile(costs, 0.5),
                costs.first ?? 0, costs.last ?? 0))
        }
        print(String(format: "load average (1 min) before / after: %.2f / %.2f", loadBefore ?? 0, loadAfter ?? 0))
    }

    /// `--rate`: open-loop load at a fixed arrival rate (first measuring the closed-loop peak for half-peak).
    /// Returns the open loop's p99 against its target.
    func runOpenLoop(_ rate: Rate, server: any ServerUnderTest, bound: CryptoBound, ra: X509Cert, ca: X509Cert) throws -> RunFigure {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let factory = try MessageFactory(keys: 128, challenge: server.challenge, ra: ra, keyCache: keyCache, threads: threads)
        if warmup > 0 {
            note("warm-up: \(warmup) enrollments")
            let messages = try factory.make(count: warmup, threads: threads)
            try Self.check(Self.load(messages, concurrency: concurrency, ports: server.ports, cpu: clientCPU), enrollments: messages, ra: ra, ca: ca, sample: 0)
        }
        let loadBefore = ProcStat.loadAverage()
        var perSecond: Double
        var peak: ClosedLoopFigures?
        switch rate {
        case .perSecond(let value):
            perSecond = value
        case .halfPeak:
            note("closed-loop peak: \(requests) enrollments at concurrency \(concurrency)")
            let figures = try measureClosedLoop(try factory.make(count: requests, threads: threads), concurrency: concurrency, server: server, ra: ra, ca: ca)
            peak = figures
            perSecond = figures.perSecond / 2
            note(String(format: "peak %.1f enrollments/s (%.3f ms server CPU each); open loop at %.1f/s", figures.perSecond, figures.serverCPUMilliseconds, perSecond))
        }
        let messages = try factory.make(count: requests, threads: threads)
        note(String(format: "open loop: %d enrollments at %.1f/s (%.1f s) over %d connections", requests, perSecond, Double(requests) / perSecond, connections))
        let sampler = ResourceSampler(interval: 1, processes: server.sampledProcesses)
        sampler.run(cpu: clientCPU)
        let cpuBefore = try server.cpuSeconds()
        let result = OpenLoop.run(
            OpenLoop.Settings(rate: perSecond, count: requests, connections: connections, ports: server.ports, cpu: clientCPU, retryFor: nil)
        ) { messages[$0] }
        let cpu = try server.cpuSeconds() - cpuBefore
        sampler.stop()
        let loadAfter = ProcStat.loadAverage()

        print("Open-loop latency (\(modeName))")
        if let peak {
            print(String(
                format: "  closed-loop peak          %.1f enrollments/s at concurrency %d (%.3f ms server CPU each, p99 %.1f ms)", peak.perSecond,
                peak.concurrency, peak.serverCPUMilliseconds, percentile(peak.latencies, 0.99)))
        }
        print(String(format: "  arrival rate              %.1f/s scheduled, %.1f/s achieved, %d requests, %d connections", perSecond, Double(requests) / result.wallSeconds, requests, connections))
        print("  latency from scheduled    \(result.latencySummary())  (target: p99 < \(Int(issueTargetP99Milliseconds)) ms at half of peak)")
        print("  slowest seconds           " + result.worstSeconds(3).joined(separator: "; "))
        print(String(format: "  missed slots              %d (no connection free at the scheduled time); latest send %.1f ms after its time", result.missedSlots, result.maxLateMilliseconds))
        print(String(format: "  late sends                %d more than %.0f ms late with a connection ready (the load generator's CPU was busy)", result.lateWakeups, result.slotTolerance * 1000))
        print(String(format: "  server CPU per enrollment %.3f ms (%.1f %% of one core); crypto %.3f ms", cpu * 1000 / Double(requests), cpu / result.wallSeconds * 100, bound.millisecondsPerEnrollment))
        print("  peak RSS / open fds       \(sampler.peakSummary())")
        print(String(format: "  load average (1 min)      %.2f before, %.2f after", loadBefore ?? 0, loadAfter ?? 0))
        let failed = result.unanswered
        if !failed.isEmpty {
            throw BenchError(
                "\(failed.count) of \(requests) requests not answered SUCCESS; first ones:\n  "
                    + failed.prefix(5).map { "#\($0.index): \($0.problem ?? "?")" }.joined(separator: "\n  "))
        }
        return .p99(percentile(result.sortedLatencies, 0.99), rate: perSecond)
    }

    var modeName: String {
        guard clusterDatabase != nil else { return "scepter dev" }
        return "cluster: control + \(edges) edges + redis + PostgreSQL" + (storesCPU.map { ", the stores on CPU \($0)" } ?? "")
    }
}
