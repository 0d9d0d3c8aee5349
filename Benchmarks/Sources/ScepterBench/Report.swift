import Foundation

struct MachineFacts: Sendable, Codable {
    var cpus: Int
    var cpuModel: String
    var kernel: String
    var openSSL: String

    static func read() -> MachineFacts {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingSpaces() } ?? "unknown"
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "unknown").trimmingSpaces()
            .trimmingCharacters(in: .newlines)
        return MachineFacts(
            cpus: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model, kernel: kernel, openSSL: OpenSSLVersion.text)
    }
}

/// Issue #14's targets: server CPU per enrollment at most 1.25 × its crypto
/// cost embedded (80 % of the bound), 1.6 × in the cluster (62.5 %).
func issueTargetRatio(cluster: Bool) -> Double { cluster ? 1 / 1.6 : 1 / 1.25 }

/// Issue #14's latency target: p99 below this at half of the closed-loop peak, open loop.
let issueTargetP99Milliseconds = 25.0

struct BenchResult {
    var machine: MachineFacts
    /// What was measured, e.g. "scepter dev" or "cluster: control + 2 edges + redis + PostgreSQL".
    var mode: String
    var binary: String
    var serverCPU: Int
    var clientCPU: Int
    /// The core a cluster's PostgreSQL and Redis were pinned to, if not `serverCPU` (`--stores-cpu`).
    var storesCPU: Int?
    var serverLogLevel: String
    var requests: Int
    var concurrency: Int
    var warmup: Int
    /// Timed before the measured phase, and again after it.
    var bound: CryptoBound
    var boundAfter: CryptoBound
    var serverCPUSeconds: Double
    var clientCPUSeconds: Double
    var wallSeconds: Double
    var latencyP50: Double
    var latencyP99: Double
    var latencyMax: Double
    var fullyVerified: Int
    var serverRSSMiB: Double?
    var generationSeconds: Double
    var loadAverageBefore: Double?
    var loadAverageAfter: Double?
    /// Share of the wall time CPU `serverCPU` spent on anything but the server.
    var otherWorkOnServerCPU: Double?
    /// The crypto and the stores: what no change to Scepter's own code removes (nil: not measured this run).
    var floor: CostFloor?

    var serverCPUMillisecondsPerEnrollment: Double { serverCPUSeconds * 1000 / Double(requests) }
    var enrollmentsPerSecond: Double { Double(requests) / wallSeconds }
    var serverUtilisation: Double { serverCPUSeconds / wallSeconds }
    var clientUtilisation: Double { clientCPUSeconds / wallSeconds }
    /// The crypto cost the run is compared with: the mean of the timings before and after it.
    var cryptoMilliseconds: Double { (bound.millisecondsPerEnrollment + boundAfter.millisecondsPerEnrollment) / 2 }
    /// How far the timing after the run is from the one before it (0.1 = 10 % slower after).
    var cryptoDrift: Double { boundAfter.millisecondsPerEnrollment / bound.millisecondsPerEnrollment - 1 }
    /// Crypto ms / server CPU ms: the fraction of the crypto bound one core sustains.
    var ratio: Double { cryptoMilliseconds / serverCPUMillisecondsPerEnrollment }
    var targetRatio: Double { issueTargetRatio(cluster: mode.hasPrefix("cluster")) }
    /// Enrollments/s one fully busy core would do at the measured CPU cost.
    var perCoreCapacity: Double { 1000 / serverCPUMillisecondsPerEnrollment }

    func table() -> String {
        func f(_ value: Double, _ decimals: Int = 3) -> String { String(format: "%.\(decimals)f", value) }
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func lpad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        var lines: [String] = []
        lines.append("")
        lines.append("Scepter benchmark: \(mode)")
        lines.append(
            "machine: \(machine.cpus) CPUs (\(machine.cpuModel)), Linux \(machine.kernel), \(machine.openSSL); "
                + "server pinned to CPU \(serverCPU)" + (storesCPU.map { ", PostgreSQL and Redis to CPU \($0)" } ?? "")
                + ", load generator to CPU \(clientCPU)")
        lines.append("server:  \(binary) dev (log level \(serverLogLevel))")
        lines.append(
            "run:     \(requests) PKCSReq (RSA-2048 key each, AES-128-CBC, SHA-256) at concurrency \(concurrency), "
                + "after \(warmup) warm-up; load average \(loadAverageBefore.map { f($0, 2) } ?? "?") before, "
                + "\(loadAverageAfter.map { f($0, 2) } ?? "?") after")
        lines.append("")
        lines.append("Crypto an enrollment needs (thread CPU time on CPU \(serverCPU), server keys, same run)")
        let nameWidth = max(62, (bound.operations.map(\.name.count) + bound.references.map { $0.name.count + 15 }).max() ?? 0)
        lines.append("  " + pad("operation", nameWidth) + "  " + pad("library", 24) + lpad("ms/op", 8) + lpad("x", 3) + lpad("ms", 8))
        for op in bound.operations {
            lines.append(
                "  " + pad(op.name, nameWidth) + "  " + pad(op.library, 24) + lpad(f(op.cpuMilliseconds), 8)
                    + lpad("\(op.perEnrollment)", 3) + lpad(f(op.cpuMilliseconds * Double(op.perEnrollment)), 8))
        }
        lines.append("  " + pad("crypto per enrollment, timed before the measured phase (private operations: \(f(bound.privateMilliseconds)) ms)", nameWidth + 24 + 13)
            + lpad(f(bound.millisecondsPerEnrollment), 8))
        lines.append("  " + pad("the same, timed again after the measured phase (" + f(cryptoDrift * 100, 1) + " %)", nameWidth + 24 + 13)
            + lpad(f(boundAfter.millisecondsPerEnrollment), 8))
        lines.append("  " + pad("crypto per enrollment the run is compared with (mean of the two)", nameWidth + 24 + 13)
            + lpad(f(cryptoMilliseconds), 8))
        lines.append("  " + pad("crypto bound: enrollments/s per core (1000 / crypto ms)", nameWidth + 24 + 13)
            + lpad(f(1000 / cryptoMilliseconds, 1), 8))
        for op in bound.references {
            lines.append("  " + pad("for reference: " + op.name, nameWidth) + "  " + pad(op.library, 24) + lpad(f(op.cpuMilliseconds), 8))
        }
        lines.append("")
        lines.append("Server (\(mode)" + (storesCPU == nil ? ", one core)" : ")"))
        let rows: [(String, String)] = [
            ("server CPU per enrollment", f(serverCPUMillisecondsPerEnrollment) + " ms  (user+system of every server-side process / enrollments)"),
            (
                "crypto / server CPU", f(ratio * 100, 1) + " %  = fraction of the crypto bound one core sustains (target >= "
                    + f(targetRatio * 100, 1) + " %: " + (ratio >= targetRatio ? "met" : "NOT met") + ")"
            ),
            ("server CPU / crypto", f(1 / ratio, 2) + " ×  (target <= " + f(1 / targetRatio, 2) + " ×)"),
            ("one core at 100 %", f(perCoreCapacity, 1) + " enrollments/s  (1000 / server CPU ms)"),
            ("enrollments/s", f(enrollmentsPerSecond, 1) + "  at concurrency \(concurrency), " + f(wallSeconds, 2) + " s wall"),
            ("server CPU utilisation", f(serverUtilisation * 100, 1) + " % of one core"),
            (
                "other work on CPU \(serverCPU)", otherWorkOnServerCPU.map { f($0 * 100, 1) + " % of the wall time (other processes; should be ~0)" } ?? "?"
            ),
            ("latency p50 / p99 / max", f(latencyP50, 1) + " / " + f(latencyP99, 1) + " / " + f(latencyMax, 1) + " ms"),
            ("load generator CPU", f(clientUtilisation * 100, 1) + " % of CPU \(clientCPU)"),
            ("server RSS after the run", serverRSSMiB.map { f($0, 0) + " MiB" } ?? "?"),
            (
                "replies", "\(requests) SUCCESS CertReps (status, transactionID, nonce checked); \(fullyVerified) fully verified "
                    + "(RA signature, decrypted, certificate for the device key, signed by the CA)"
            ),
        ]
        for (label, value) in rows { lines.append("  " + pad(label, 26) + value) }
        if let floor {
            lines.append("")
            lines.append("Floor: the crypto and the stores alone, what the run would cost if Scepter's own code cost nothing (\(floor.source))")
            let width = max(62, floor.parts.map(\.name.count).max() ?? 0)
            for part in floor.parts { lines.append("  " + pad(part.name, width) + lpad(f(part.milliseconds), 8) + " ms") }
            let atTarget = cryptoMilliseconds / targetRatio - floor.milliseconds
            lines.append("  " + pad("together", width) + lpad(f(floor.milliseconds), 8) + " ms = " + f(floor.milliseconds / cryptoMilliseconds, 2)
                + " × the crypto (target <= " + f(1 / targetRatio, 2) + " ×)")
            lines.append("  " + pad("left for everything else: at the target / measured", width) + lpad(f(atTarget), 8) + " / "
                + f(serverCPUMillisecondsPerEnrollment - floor.milliseconds) + " ms")
        }
        if abs(cryptoDrift) > 0.10 {
            lines.append("")
            lines.append(
                "  note: the crypto timed after the run differs from the one before by " + f(cryptoDrift * 100, 1)
                    + " %: the machine's speed changed around the run (a hypervisor taking time it does not report as steal, "
                    + "CPU frequency, a neighbour on the same cache), "
                    + "so the multiple is uncertain by about as much. Compare runs by their medians.")
        }
        if (otherWorkOnServerCPU ?? 0) > 0.05 {
            lines.append("")
            lines.append(
                "  note: other processes used CPU \(serverCPU) during the run: the server shared its core, so enrollments/s "
                    + "is low and the CPU figures are noisy. Rerun on a quiet machine.")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }

    func json() throws -> Data {
        struct Operation: Codable {
            var name: String
            var library: String
            var isPrivate: Bool
            var perEnrollment: Int
            var cpuMilliseconds: Double
            var iterations: Int
        }
        struct Summary: Codable {
            var machine: MachineFacts
            var serverCPU: Int
            var clientCPU: Int
            var storesCPU: Int?
            var serverLogLevel: String
            var requests: Int
            var concurrency: Int
            var cryptoOperations: [Operation]
            var cryptoReferences: [Operation]
            var cryptoMillisecondsPerEnrollment: Double
            var cryptoMillisecondsPerEnrollmentBefore: Double
            var cryptoMillisecondsPerEnrollmentAfter: Double
            var cryptoBoundEnrollmentsPerSecondPerCore: Double
            var serverCPUMillisecondsPerEnrollment: Double
            var cryptoOverServerCPU: Double
            var targetRatio: Double
            var enrollmentsPerSecond: Double
            var serverCPUUtilisation: Double
            var latencyP50Milliseconds: Double
            var latencyP99Milliseconds: Double
            var latencyMaxMilliseconds: Double
            var loadGeneratorCPUUtilisation: Double
            var wallSeconds: Double
            var otherWorkOnServerCPU: Double?
            var floorMilliseconds: Double?
        }
        func convert(_ op: CryptoOperation) -> Operation {
            Operation(
                name: op.name, library: op.library, isPrivate: op.isPrivate, perEnrollment: op.perEnrollment,
                cpuMilliseconds: op.cpuMilliseconds, iterations: op.iterations)
        }
        let summary = Summary(
            machine: machine, serverCPU: serverCPU, clientCPU: clientCPU, storesCPU: storesCPU, serverLogLevel: serverLogLevel, requests: requests,
            concurrency: concurrency, cryptoOperations: bound.operations.map(convert), cryptoReferences: bound.references.map(convert),
            cryptoMillisecondsPerEnrollment: cryptoMilliseconds,
            cryptoMillisecondsPerEnrollmentBefore: bound.millisecondsPerEnrollment,
            cryptoMillisecondsPerEnrollmentAfter: boundAfter.millisecondsPerEnrollment,
            cryptoBoundEnrollmentsPerSecondPerCore: 1000 / cryptoMilliseconds,
            serverCPUMillisecondsPerEnrollment: serverCPUMillisecondsPerEnrollment, cryptoOverServerCPU: ratio, targetRatio: targetRatio,
            enrollmentsPerSecond: enrollmentsPerSecond, serverCPUUtilisation: serverUtilisation, latencyP50Milliseconds: latencyP50,
            latencyP99Milliseconds: latencyP99, latencyMaxMilliseconds: latencyMax, loadGeneratorCPUUtilisation: clientUtilisation,
            wallSeconds: wallSeconds, otherWorkOnServerCPU: otherWorkOnServerCPU, floorMilliseconds: floor?.milliseconds)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(summary)
    }
}
