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
    /// samples with a frame in OpenSSL's libcrypto (the RSA operations and what
    /// they call) or in BoringSSL (swift-crypto: the CSR's self-signature, and
    /// the CA's signature when the server found it the faster), and the share
    /// with a frame in SQLite (its library, and the `pwrite`, `fdatasync` and
    /// locks it makes), times the run's server CPU per enrollment. perf's
    /// sampling costs a profiled run a little more CPU, evenly, so the shares
    /// hold and the milliseconds run a little high.
    static func fromProfile(_ path: String, serverMilliseconds: Double) throws -> CostFloor {
        let shares = ProfileShares(perfScript: try Subprocess.run(Profiler.perf, ["script", "-i", path, "-F", "ip,sym,dso", "--no-inline"], timeout: 600))
        guard shares.samples > 0 else { throw BenchError("perf script of \(path) printed no call chains (an empty profile?): no floor to compute") }
        guard shares.openSSL > 0 else { throw BenchError("perf script of \(path) shows no libcrypto samples: no floor to compute") }
        func percent(_ fraction: Double) -> String { String(format: "%.1f %%", fraction * 100) }
        return CostFloor(
            parts: [
                Part(
                    name: "crypto inside the server (OpenSSL \(percent(shares.openSSL)), BoringSSL \(percent(shares.boringSSL)) of the samples)",
                    milliseconds: (shares.openSSL + shares.boringSSL) * serverMilliseconds),
                Part(name: "SQLite with its system calls (\(percent(shares.sqlite)) of the samples)", milliseconds: shares.sqlite * serverMilliseconds),
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
}

/// The samples of a profile by where their call chains run, each sample
/// counted once, from `perf script -F ip,sym,dso`: a block of frame lines
/// (each starting with a tab: address, symbol, `(library)`) per sample,
/// blocks apart by a blank line; other lines (perf's warnings) are not
/// frames. Whole call chains, not the sampled function alone: BoringSSL is
/// linked into the server's binary, and the inner routines of its assembly
/// (`mulx4x_internal`, `__bn_postx4x_internal`, …) carry no
/// `CCryptoBoringSSL_` name, so only a frame further up tells; counting
/// sampled functions by that prefix missed a third of BoringSSL's RSA.
struct ProfileShares {
    /// How many samples the listing held.
    private(set) var samples = 0
    /// Fractions of all samples.
    private(set) var openSSL = 0.0, boringSSL = 0.0, sqlite = 0.0

    init(perfScript: String) {
        var samples = 0, openSSL = 0, boringSSL = 0, sqlite = 0
        var chain: [Substring] = []
        func count() {
            guard !chain.isEmpty else { return }
            samples += 1
            if chain.contains(where: { $0.contains("/libcrypto.so") }) {
                openSSL += 1
            } else if chain.contains(where: { $0.contains(" CCryptoBoringSSL_") }) {
                boringSSL += 1
            }
            if chain.contains(where: { $0.contains("/libsqlite3.so") }) { sqlite += 1 }
            chain.removeAll(keepingCapacity: true)
        }
        for line in perfScript.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.first == "\t" {
                chain.append(line)
            } else if line.allSatisfy(\.isWhitespace) {
                count()
            }
        }
        count()
        self.samples = samples
        guard samples > 0 else { return }
        self.openSSL = Double(openSSL) / Double(samples)
        self.boringSSL = Double(boringSSL) / Double(samples)
        self.sqlite = Double(sqlite) / Double(samples)
    }
}
