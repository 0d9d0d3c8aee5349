import Foundation
import Glibc

/// `scepter control` alone (with the private `redis-server` it needs) on an
/// existing database, with admin and viewer tokens: for seeding (its
/// migrations make the schema) and for timing the admin API on a large
/// inventory. Profile `default`, issuer `bench`, as in `ClusterUnderTest`.
final class ControlPlaneProcess {
    let port: UInt16
    let adminToken = "bench-admin-\(UUID().uuidString)"
    let viewerToken = "bench-viewer-\(UUID().uuidString)"
    let pid: Int32
    private var children: [Process] = []

    init(binary: String, directory: String, databaseURL: String, cpu: Int?, logLevel: String? = nil) throws {
        let pki = directory + "/pki"
        if !FileManager.default.fileExists(atPath: pki + "/ca.pem") { try ClusterUnderTest.run(binary, ["ca", "init", "--out", pki]) }
        let pin = cpu.map { ["-c", "\($0)"] } ?? ["-c", "0-\(ProcessInfo.processInfo.activeProcessorCount - 1)"]
        let redisPort = try ClusterUnderTest.freePort()
        let redis = try ClusterUnderTest.start(
            "redis", "/usr/bin/taskset", pin + ["redis-server", "--bind", "127.0.0.1", "--port", "\(redisPort)", "--save", "", "--appendonly", "no"],
            environment: [:], log: directory + "/redis.log")
        children.append(redis)
        do {
            try ClusterUnderTest.waitForRedis(port: redisPort, process: redis, log: directory + "/redis.log")
        } catch {
            Self.stop([redis])
            throw error
        }
        let controlPort = try ClusterUnderTest.freePort()
        var environment = ClusterUnderTest.roleEnvironment(
            pki: pki, challenge: "bench-\(UUID().uuidString)", redisPort: redisPort, databaseURL: databaseURL, controlURLPort: controlPort,
            logLevel: logLevel)
        environment["SCEPTER_ADMIN_TOKENS"] = "bench-admin:" + adminToken
        environment["SCEPTER_VIEWER_TOKENS"] = "bench-viewer:" + viewerToken
        environment["SCEPTER_CONTROL_LISTEN"] = "127.0.0.1:\(controlPort)"
        let control = try ClusterUnderTest.start(
            "control", "/usr/bin/taskset", pin + [binary, "control"], environment: environment, log: directory + "/control.log")
        children.append(control)
        pid = control.processIdentifier
        do {
            port = try ClusterUnderTest.waitForPort(log: directory + "/control.log", process: control)
        } catch {
            Self.stop([redis, control])
            throw error
        }
    }

    func stop() {
        Self.stop(children)
        children = []
    }

    deinit { stop() }

    private static func stop(_ children: [Process]) {
        for child in children.reversed() where child.isRunning {
            kill(child.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while child.isRunning && Date() < deadline { usleep(50_000) }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }
    }
}
