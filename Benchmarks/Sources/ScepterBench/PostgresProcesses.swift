import Foundation

/// The processes of one PostgreSQL server: its postmaster, found by the
/// port in its data directory's `postmaster.pid`, and the postmaster's
/// children (backends, background workers). On a shared machine other
/// PostgreSQL servers run too; their CPU is not the server under test's.
enum PostgresProcesses {
    /// Every process of the server listening on `port`; all `postgres` processes when no postmaster says it listens there.
    static func pids(port: Int) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let all = entries.compactMap(Int32.init).filter { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("postgres")
        }
        let parent = Dictionary(uniqueKeysWithValues: all.map { ($0, parentPID($0)) })
        let postmasters = all.filter { parent[$0].map { !all.contains($0) } ?? false }
        guard let postmaster = postmasters.first(where: { listensOn(port, postmaster: $0) }) else { return all }
        return [postmaster] + all.filter { parent[$0] == postmaster }
    }

    /// The port from a `postgres://` URL (5432 when it names none).
    static func port(of url: String) -> Int { URLComponents(string: url)?.port ?? 5432 }

    private static func parentPID(_ pid: Int32) -> Int32 {
        // The command may contain spaces and parentheses: the fields after the last ')' are fixed.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) ?? 0 : 0
    }

    /// Line 4 of `postmaster.pid` in the data directory given by `-D` is the port.
    private static func listensOn(_ port: Int, postmaster: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(postmaster)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let flag = arguments.firstIndex(of: "-D"), flag + 1 < arguments.count,
            let lines = try? String(contentsOfFile: arguments[flag + 1] + "/postmaster.pid", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false),
            lines.count > 3
        else { return false }
        return Int(lines[3]) == port
    }
}
