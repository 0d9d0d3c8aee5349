import CBenchSupport
import Foundation
import Synchronization

/// Resident memory and open file descriptors of one process, from /proc.
struct ProcessResources: Sendable {
    var residentMiB: Double
    var openFiles: Int
    /// How many processes the figures sum (PostgreSQL: postmaster and backends).
    var processes = 1

    /// nil when the process is gone (or /proc cannot be read).
    static func read(pid: Int32) -> ProcessResources? {
        guard pid > 0, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var resident: Double?
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            resident = line.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { $0 / 1024 }
        }
        guard let resident, let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return nil }
        return ProcessResources(residentMiB: resident, openFiles: descriptors.count)
    }

    /// Several processes as one (PostgreSQL's postmaster and backends): RSS
    /// summed, so pages shared between them are counted once per process.
    static func read(pids: [Int32]) -> ProcessResources? {
        let each = pids.compactMap { read(pid: $0) }
        guard !each.isEmpty else { return nil }
        return ProcessResources(
            residentMiB: each.map(\.residentMiB).reduce(0, +), openFiles: each.map(\.openFiles).reduce(0, +), processes: each.count)
    }
}

/// The current pid of each named process, readable from any thread (the
/// sampler's) while another restarts processes.
final class ProcessRegistry: Sendable {
    private let table = Mutex<[(name: String, pids: [Int32])]>([])

    func set(_ processes: [(name: String, pids: [Int32])]) { table.withLock { $0 = processes } }
    var processes: [(name: String, pids: [Int32])] { table.withLock { $0 } }
}

extension ProcStat {
    /// The parent's pid, from field 4 of /proc/<pid>/stat.
    static func parent(pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}

/// Samples the RSS and open descriptors of the server's processes every
/// `interval` seconds on its own thread (and on demand, e.g. at each fault),
/// keeps every sample and the peak per process, and writes them as CSV.
final class ResourceSampler: Sendable {
    struct Sample: Sendable {
        var seconds: Double
        var label: String
        var process: String
        var resources: ProcessResources
    }

    /// The processes to sample now, by name; several pids under one name are summed.
    typealias Processes = @Sendable () -> [(name: String, pids: [Int32])]

    private let interval: Double
    private let processes: Processes
    private let start: Double
    private let samples = Mutex<[Sample]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(interval: Double, processes: @escaping Processes) {
        self.interval = interval
        self.processes = processes
        self.start = Clock.monotonicSeconds()
    }

    /// Starts the periodic sampling (one sample at once).
    func run(cpu: Int?) {
        let thread = Thread { [self] in
            pinCurrentThread(to: cpu)
            var next = Clock.monotonicSeconds()
            while !stopped.load(ordering: .relaxed) {
                if Clock.monotonicSeconds() >= next {
                    sample(label: "periodic")
                    next += interval
                }
                usleep(100_000)
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops the periodic sampling; waits for the thread (at most 2 s).
    func stop() {
        stopped.store(true, ordering: .relaxed)
        _ = finished.wait(timeout: .now() + 2)
    }

    /// One sample of every process now, labelled (e.g. "before redis restart").
    func sample(label: String) {
        let now = Clock.monotonicSeconds() - start
        let taken = processes().compactMap { entry in
            ProcessResources.read(pids: entry.pids).map { Sample(seconds: now, label: label, process: entry.name, resources: $0) }
        }
        samples.withLock { $0.append(contentsOf: taken) }
    }

    var all: [Sample] { samples.withLock { $0 } }

    /// The largest RSS and descriptor count seen per process.
    func peaks() -> [(process: String, residentMiB: Double, openFiles: Int)] {
        var result: [String: (Double, Int)] = [:]
        for sample in all {
            let old = result[sample.process] ?? (0, 0)
            result[sample.process] = (max(old.0, sample.resources.residentMiB), max(old.1, sample.resources.openFiles))
        }
        return result.keys.sorted().map { ($0, result[$0]!.0, result[$0]!.1) }
    }

    /// One line per process: peak RSS and descriptors.
    func peakSummary() -> String {
        peaks().map { String(format: "%@ %.0f MiB / %d fds", $0.process, $0.residentMiB, $0.openFiles) }.joined(separator: ", ")
    }

    /// `seconds,label,process,rss_mib,open_fds,processes`, one row per process per sample.
    func writeCSV(to path: String) throws {
        var text = "seconds,label,process,rss_mib,open_fds,processes\n"
        for sample in all {
            text += String(
                format: "%.1f,%@,%@,%.1f,%d,%d\n", sample.seconds, sample.label, sample.process, sample.resources.residentMiB,
                sample.resources.openFiles, sample.resources.processes)
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Pins the calling thread to `cpu` (nil: leaves it free).
func pinCurrentThread(to cpu: Int?) {
    _ = bench_pin_current_thread(Int32(cpu ?? -1))
}
