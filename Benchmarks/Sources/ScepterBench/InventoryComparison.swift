import Foundation

/// `--seed-certificates N --against-empty`: whether an enrollment costs the
/// same at N certificates as on an empty database, asked so that the host's
/// drift cancels. Separate runs minutes apart have differed by 20-70 % on this
/// VM with nothing changed, more than the 10 % the comparison is about. So an
/// empty and a seeded cluster run side by side on the server CPU and the same
/// PostgreSQL server, closed-loop phases alternate between them (empty then
/// seeded, then seeded then empty, …), and each adjacent pair gives a ratio.
extension ScepterBench {
    func runAgainstEmpty(binary: String, directory: String) throws {
        guard let clusterDatabase else { throw BenchError("--against-empty needs --cluster-database") }
        let names = ["empty", "seeded"]
        var clusters: [ClusterUnderTest] = []
        defer { for cluster in clusters { cluster.stop() } }
        for name in names {
            let clusterDirectory = directory + "/" + name
            try FileManager.default.createDirectory(atPath: clusterDirectory, withIntermediateDirectories: true)
            note("starting the \(name) cluster (control, \(edges) edges, redis; PostgreSQL \(clusterDatabase)) on CPU \(serverCPU)")
            clusters.append(try ClusterUnderTest(
                binary: binary, cpu: serverCPU, directory: clusterDirectory, database: clusterDatabase, edges: edges, logLevel: serverLogLevel,
                caKey: caKey, keepDatabase: keepData))
        }
        try seeding.seed(clusters[1].databaseURL)
        let trust = try clusters.map { try Self.publishedCAAndRA($0) }
        let bound = try timeCrypto(clusters[0])
        let threads = ProcessInfo.processInfo.activeProcessorCount
        let factories = try zip(clusters, trust).map { cluster, pki in
            try MessageFactory(keys: 128, challenge: cluster.challenge, ra: pki.ra, keyCache: keyCache, threads: threads)
        }
        for which in clusters.indices where warmup > 0 {
            note("warm-up of the \(names[which]) cluster: \(warmup) enrollments")
            let messages = try factories[which].make(count: warmup, threads: threads)
            let outcomes = Self.load(messages, concurrency: 16, ports: clusters[which].ports, cpu: clientCPU)
            try Self.check(outcomes, enrollments: messages, ra: trust[which].ra, ca: trust[which].ca, sample: 0)
        }

        let listed = try sweepConcurrencies()
        let concurrencies = listed.isEmpty ? Array(repeating: concurrency, count: 7) : listed
        let loadBefore = ProcStat.loadAverage()
        var pairs: [(empty: ClosedLoopFigures, seeded: ClosedLoopFigures)] = []
        for (index, concurrency) in concurrencies.enumerated() {
            // The order flips every pair, so a steady trend in the host's speed favours neither side.
            var figures: [ClosedLoopFigures?] = [nil, nil]
            for which in index % 2 == 0 ? [0, 1] : [1, 0] {
                let messages = try factories[which].make(count: requests, threads: threads)
                note("pair \(index + 1), \(names[which]): \(requests) enrollments at concurrency \(concurrency)")
                let phase = try measureClosedLoop(messages, concurrency: concurrency, server: clusters[which], ra: trust[which].ra, ca: trust[which].ca)
                note(String(format: "  %.3f ms server CPU, %.1f/s, p99 %.1f ms", phase.serverCPUMilliseconds, phase.perSecond, percentile(phase.latencies, 0.99)))
                figures[which] = phase
            }
            pairs.append((figures[0]!, figures[1]!))
        }
        let loadAfter = ProcStat.loadAverage()

        let seededCount = seeding.seedCertificates
        print("Empty against \(seededCount) certificates, side by side (\(modeName), \(requests) enrollments per phase, crypto \(String(format: "%.3f", bound.millisecondsPerEnrollment)) ms per enrollment)")
        print("| pair | concurrency | empty: server CPU ms | seeded: server CPU ms | seeded / empty | empty / seeded p99 ms |")
        print("| --- | --- | --- | --- | --- | --- |")
        for (index, pair) in pairs.enumerated() {
            print(String(
                format: "| %d | %d | %.3f | %.3f | %+.1f %% | %.1f / %.1f |", index + 1, pair.empty.concurrency, pair.empty.serverCPUMilliseconds,
                pair.seeded.serverCPUMilliseconds, (pair.seeded.serverCPUMilliseconds / pair.empty.serverCPUMilliseconds - 1) * 100,
                percentile(pair.empty.latencies, 0.99), percentile(pair.seeded.latencies, 0.99)))
        }
        let ratios = pairs.map { $0.seeded.serverCPUMilliseconds / $0.empty.serverCPUMilliseconds - 1 }.sorted()
        let empty = pairs.map(\.empty.serverCPUMilliseconds).sorted()
        let seeded = pairs.map(\.seeded.serverCPUMilliseconds).sorted()
        print(String(
            format: "median of the pairs: seeded %+.1f %% (range %+.1f to %+.1f %%); medians %.3f ms empty, %.3f ms seeded",
            percentile(ratios, 0.5) * 100, (ratios.first ?? 0) * 100, (ratios.last ?? 0) * 100, percentile(empty, 0.5), percentile(seeded, 0.5)))
        print(String(format: "load average (1 min) before / after: %.2f / %.2f", loadBefore ?? 0, loadAfter ?? 0))
    }
}
