import Foundation

/// The crypto and the stores alone, measured in the run: what it would cost
/// if Scepter's own code cost nothing. Set beside the target, it says how
/// much the target leaves for everything else (HTTP, CMS and CSR parsing,
/// building certificates, the event loop, TCP, the internal API).
struct CostFloor {
    struct Part {
        var name: String
        var milliseconds: Double
    }

    var parts: [Part]
    /// Where the figures come from, for the report's heading.
    var source: String

    var milliseconds: Double { parts.map(\.milliseconds).reduce(0, +) }

    /// Embedded mode, from the `--profile` of the measured phase: the share of
    /// samples with a frame in libcrypto (OpenSSL, the RSA operations and what
    /// they call), in BoringSSL's own functions (swift-crypto: the CSR's
    /// self-signature), and with a frame in SQLite (its library, and the
    /// `pwrite`, `fdatasync` and locks it makes), times the run's server CPU
    /// per enrollment. perf's sampling costs a profiled run a little more
    /// CPU, evenly, so the shares hold and the milliseconds run a little high.
    static func fromProfile(_ path: String, serverMilliseconds: Double) throws -> CostFloor {
        let inclusive = try report(path, ["--children", "--sort", "dso"])
        let exclusive = try report(path, ["--no-children", "--sort", "dso,symbol"])
        func share(_ dso: String) -> Double { inclusive.first { $0.label.hasPrefix(dso) }.map { $0.percent / 100 } ?? 0 }
        let openSSL = share("libcrypto.so")
        let sqlite = share("libsqlite3.so")
        let boringSSL = exclusive.filter { $0.label.contains("CCryptoBoringSSL_") }.map(\.percent).reduce(0, +) / 100
        guard openSSL > 0 else { throw BenchError("perf report of \(path) shows no libcrypto samples: no floor to compute") }
        func percent(_ fraction: Double) -> String { String(format: "%.1f %%", fraction * 100) }
        return CostFloor(
            parts: [
                Part(
                    name: "crypto inside the server (OpenSSL \(percent(openSSL)), BoringSSL \(percent(boringSSL)) of the samples)",
                    milliseconds: (openSSL + boringSSL) * serverMilliseconds),
                Part(name: "SQLite with its system calls (\(percent(sqlite)) of the samples)", milliseconds: sqlite * serverMilliseconds),
            ],
            source: "shares of the --profile samples times the server CPU per enrollment")
    }

    /// Cluster mode: the crypto as timed beside the run (the processes'
    /// crypto costs at least that) and PostgreSQL's and Redis's own CPU per
    /// enrollment in the run, from two `ClusterUnderTest.cpuByProcess()` snapshots.
    static func stores(before: [String: Double], after: [String: Double], enrollments: Int, cryptoMilliseconds: Double) -> CostFloor {
        func milliseconds(_ name: String) -> Double { ((after[name] ?? 0) - (before[name] ?? 0)) * 1000 / Double(enrollments) }
        return CostFloor(
            parts: [
                Part(name: "the crypto, as timed beside the run", milliseconds: cryptoMilliseconds),
                Part(name: "PostgreSQL (every process of its server)", milliseconds: milliseconds("postgres")),
                Part(name: "Redis", milliseconds: milliseconds("redis")),
            ],
            source: "the processes' CPU in this run; the crypto as timed, though inside the processes it costs more")
    }

    /// `perf report --stdio` lines "  63.48%  4.70%  libcrypto.so.3" as (first percentage, the rest).
    private static func report(_ path: String, _ arguments: [String]) throws -> [(percent: Double, label: String)] {
        let output = try Subprocess.run(Profiler.perf, ["report", "-i", path, "--stdio", "-g", "none"] + arguments, timeout: 600)
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first, first.hasSuffix("%"), let percent = Double(first.dropLast()) else { return nil }
            let label = fields.dropFirst().drop { $0.hasSuffix("%") }.joined(separator: " ")
            return (percent, label)
        }
    }
}
