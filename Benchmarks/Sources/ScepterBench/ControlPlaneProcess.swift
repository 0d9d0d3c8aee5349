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
        Thread.sleep(forTimeInterval: 0.5)
        let controlPort = try ClusterUnderTest.freePort()
        var environment = [
            "SCEPTER_PROFILES": "default",
            "SCEPTER_ISSUERS": "bench",
            "SCEPTER_ISSUER_BENCH_CA_CERT_PATH": pki + "/ca.pem",
            "SCEPTER_ISSUER_BENCH_CA_KEY_PATH": pki + "/ca.key",
            "SCEPTER_PROFILE_DEFAULT_RA_CERT_PATH": pki + "/ra.pem",
            "SCEPTER_PROFILE_DEFAULT_RA_KEY_PATH": pki + "/ra.key",
            "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD": "bench-\(UUID().uuidString)",
            "SCEPTER_EDGE_TOKEN": "bench-edge-token-\(UUID().uuidString)",
            "SCEPTER_ADMIN_TOKENS": "bench-admin:" + adminToken,
            "SCEPTER_VIEWER_TOKENS": "bench-viewer:" + viewerToken,
            "SCEPTER_REDIS_URL": "redis://127.0.0.1:\(redisPort)/0",
            "SCEPTER_DATABASE_URL": databaseURL,
            "SCEPTER_CONTROL_LISTEN": "127.0.0.1:\(controlPort)",
            "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(controlPort)",
        ]
        if let logLevel { environment["SCEPTER_LOG_LEVEL"] = logLevel }
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
