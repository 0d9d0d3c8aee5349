import CBenchSupport
import Foundation
import Glibc

/// Runs a short-lived command with posix_spawn and waits for it with a
/// deadline, its output (stdout and stderr) in a file. Foundation's Process
/// sometimes never sees the exit of `runuser … pg_ctl start` (the child
/// stays a zombie and `waitUntilExit` blocks forever), so the PostgreSQL
/// and redis-cli commands of the soak go through this instead. The child
/// inherits no descriptor but its output file.
enum Subprocess {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `executable arguments`, appending its output to `log` (a fresh
    /// temporary file when nil), and returns that output when it exits 0
    /// within `timeout` seconds; throws otherwise (killing it past the deadline).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], log: String? = nil, timeout: Double = 120) throws -> String {
        let path = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("scepter-bench-\(UUID().uuidString).out").path
        defer { if log == nil { unlink(path) } }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw Failed(description: "cannot open \(path)") }
        let start = lseek(descriptor, 0, SEEK_END)
        defer { close(descriptor) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)
        // Nothing else: a server started here (pg_ctl's postmaster) must not
        // hold the harness's sockets open (it would keep every load
        // connection alive and count them as its own descriptors).
        _ = bench_spawn_close_from(&actions, 3)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failed(description: "cannot start \(executable): \(String(cString: strerror(spawned)))") }

        let deadline = Clock.monotonicSeconds() + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { throw Failed(description: "waitpid for \(executable): \(String(cString: strerror(errno)))") }
            if Clock.monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        let output = (try? String(contentsOfFile: path, encoding: .utf8)).map { String($0.utf8.dropFirst(Int(max(start, 0)))) ?? $0 } ?? ""
        // WIFEXITED and WEXITSTATUS are macros Swift cannot call.
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Failed(description: "\(executable) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(output.suffix(1500))")
        }
        return output
    }
}
