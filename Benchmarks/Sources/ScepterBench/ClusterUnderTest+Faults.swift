import Foundation
import Glibc

/// Stopping and restarting the cluster's processes, for the soak's faults.
extension ClusterUnderTest {
    /// Publishes the children's current pids to `registry` (read by the resource sampler).
    func publishProcesses() {
        registry.set(children.map { ($0.name, [$0.process.processIdentifier]) })
    }

    func child(named name: String) -> Child? { children.first { $0.name == name } }

    /// Sends `signal` to the child `name`, waits (at most `timeout` s) until it
    /// has exited, and returns the seconds that took. SIGKILLs it past the deadline.
    @discardableResult
    func stopChild(_ name: String, signal: Int32, timeout: Double = 60) throws -> Double {
        guard let child = child(named: name) else { throw BenchError("no cluster process named \(name)") }
        let started = Clock.monotonicSeconds()
        kill(child.process.processIdentifier, signal)
        let deadline = started + timeout
        while child.process.isRunning && Clock.monotonicSeconds() < deadline { usleep(20_000) }
        if child.process.isRunning {
            kill(child.process.processIdentifier, SIGKILL)
            child.process.waitUntilExit()
            throw BenchError("\(name) did not exit within \(Int(timeout)) s of signal \(signal); killed")
        }
        return Clock.monotonicSeconds() - started
    }

    /// Starts the stopped child `name` again with the same command and
    /// environment (so on the same port), and waits until it listens (a
    /// Scepter role) or answers PING (redis). Its log is `<name>.<n>.log`.
    func restartChild(_ name: String, timeout: Double = 120) throws {
        guard let index = children.firstIndex(where: { $0.name == name }) else { throw BenchError("no cluster process named \(name)") }
        var child = children[index]
        guard !child.process.isRunning else { throw BenchError("\(name) is still running") }
        child.starts += 1
        let log = directory + "/\(name).\(child.starts).log"
        child.process = try Self.start(name, child.executable, child.arguments, environment: child.environment, log: log)
        children[index] = child
        publishProcesses()
        if child.port != nil {
            _ = try Self.waitForPort(log: log, process: child.process, timeout: timeout)
        } else {
            try waitForRedis(port: redisPort, timeout: timeout)
        }
    }

    /// The private redis-server's port, from its command line.
    var redisPort: UInt16 {
        guard let arguments = child(named: "redis")?.arguments, let flag = arguments.firstIndex(of: "--port") else { return 0 }
        return UInt16(arguments[flag + 1]) ?? 0
    }

    private func waitForRedis(port: UInt16, timeout: Double) throws {
        let deadline = Clock.monotonicSeconds() + timeout
        while Clock.monotonicSeconds() < deadline {
            if let reply = try? Subprocess.run("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", "\(port)", "ping"], timeout: 5),
                reply.hasPrefix("PONG")
            {
                return
            }
            usleep(50_000)
        }
        throw BenchError("redis on 127.0.0.1:\(port) did not answer PING within \(Int(timeout)) s")
    }
}
