import Foundation
import Glibc

/// The release `scepter dev` under test, pinned to one core with taskset.
final class ServerProcess {
    let process: Process
    let pid: Int32
    let port: UInt16
    let challenge: String
    let dataDir: String
    let logPath: String

    static let unreachedSourceLimit = "1000000000"

    /// Starts `binary dev --port 0 --host 127.0.0.1 --data-dir dataDir` on
    /// `cpu` and reads the port and the challenge from its banner.
    init(binary: String, cpu: Int, dataDir: String, logLevel: String?, caKey: CAKey, timeout: Double = 120) throws {
        // `scepter dev` keeps a CA it finds in its data directory.
        try ClusterUnderTest.run(binary, ["ca", "init", "--out", dataDir, caKey.initFlag])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-c", String(cpu), binary, "dev", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir]
        var environment = ProcessInfo.processInfo.environment
        if let logLevel { environment["SCEPTER_LOG_LEVEL"] = logLevel }
        // All load comes from one address: a limit no run reaches, so the
        // per-source bucket is still taken on every request and measured.
        environment["SCEPTER_SOURCE_RATE_LIMIT"] = ServerProcess.unreachedSourceLimit
        process.environment = environment
        let stdout = Pipe()
        process.standardOutput = stdout
        // The server logs every request to stderr: keep it in a file (a pipe
        // nobody drains would stall the server), next to its data.
        let logPath = dataDir + ".log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        // taskset execs the server, so this pid is the server's.
        self.pid = process.processIdentifier
        self.dataDir = dataDir
        self.logPath = logPath

        var text = ""
        var port: UInt16?
        var challenge: String?
        let fd = stdout.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        while port == nil || challenge == nil {
            guard process.isRunning else {
                throw BenchError("the server exited (status \(process.terminationStatus)) before its banner; see \(logPath)\n\(text)")
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                process.terminate()
                throw BenchError("no banner from the server within \(Int(timeout)) s; see \(logPath)\n\(text)")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(remaining, 1) * 1000)) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { usleep(50_000); continue }
            text += String(decoding: chunk[0..<count], as: UTF8.self)
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingSpaces()
                if trimmed.hasPrefix("SCEP URL:"), let range = trimmed.range(of: "http://127.0.0.1:") {
                    let digits = trimmed[range.upperBound...].prefix { $0.isNumber }
                    port = UInt16(digits)
                }
                if trimmed.hasPrefix("Challenge:") {
                    challenge = String(trimmed.dropFirst("Challenge:".count)).trimmingSpaces()
                }
            }
        }
        self.port = port!
        self.challenge = challenge!
    }

    /// User plus system CPU of the whole server process so far, in seconds.
    func cpuSeconds() throws -> Double {
        try ProcStat.cpuSeconds(pid: pid)
    }

    /// Resident set size in MiB, from /proc/<pid>/status.
    func residentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
            return kb.map { $0 / 1024 }
        }
        return nil
    }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

enum ProcStat {
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime of `pid` (all its threads, live and exited), in seconds.
    static func cpuSeconds(pid: Int32) throws -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { throw BenchError("cannot read /proc/\(pid)/stat") }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchError("unexpected /proc/\(pid)/stat: \(stat.prefix(120))")
        }
        return (user + system) / ticksPerSecond
    }

    /// Busy (non-idle) time of one CPU since boot, in seconds, from /proc/stat.
    static func busySeconds(cpu: Int) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("cpu\(cpu) ") {
            // user nice system idle iowait irq softirq steal ...
            let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard values.count >= 8 else { return nil }
            let busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
            return busy / ticksPerSecond
        }
        return nil
    }

    /// The one-minute load average.
    static func loadAverage() -> Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
    }
}
