import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ScepterProtocol
import ScepterTesting
import Synchronization
import Testing

/// A cluster on loopback, as operators run it: one `scepter control`, N
/// `scepter edge` processes, a private `redis-server` (so a test may stop it)
/// and a fresh database on the PostgreSQL server of `scripts/services`.
///
/// Profile `corp`: Intune signed challenges (rate limit 3) plus a static
/// password, RA and CA from `scepter ca init`.
final class TestCluster: Sendable {
    static let audience = "https://scep.cluster.test/scep/corp"
    static let issuer = "https://connector.cluster.test/tenant-1"
    static let staticPassword = "cluster-static-secret"
    static let edgeToken = "edge-token-\(UUID().uuidString)"
    static let adminToken = "admin-token-\(UUID().uuidString)"
    static let viewerToken = "viewer-token-\(UUID().uuidString)"

    /// One connector per test process (RSA key generation is slow in debug builds).
    static let connector = Result {
        try TestConnector(
            .rsa, commonName: "Cluster Connector", notBefore: Date().addingTimeInterval(-86_400),
            notAfter: Date().addingTimeInterval(365 * 86_400))
    }

    let directory: URL
    let databaseURL: String
    let redis: RedisServerProcess
    let controlPort: Int
    let environment: [String: String]
    /// DER of the profile's RA certificate, to encrypt requests to.
    let ra: [UInt8]
    let caPEM: String
    let anchorPath: URL
    private let processes = Mutex<(control: RoleProcess?, edges: [RoleProcess], others: [RoleProcess])>((nil, [], []))

    var control: RoleProcess? { processes.withLock { $0.control } }
    var edges: [RoleProcess] { processes.withLock { $0.edges } }

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts Redis, the control plane and `edges` edges.
    static func start(edges: Int = 2, environment extra: [String: String] = [:], databaseURL: String? = nil) async throws -> TestCluster {
        guard let server = ProcessInfo.processInfo.environment["SCEPTER_TEST_DATABASE_URL"], !server.isEmpty else {
            throw NotConfigured(description: "SCEPTER_TEST_DATABASE_URL is not set: run the cluster tests through scripts/test (or eval \"$(scripts/services)\" first)")
        }
        let directory = try Shell.temporaryDirectory()
        let pki = directory.appendingPathComponent("pki")
        let initialized = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", pki.path])
        guard initialized.status == 0 else { throw NotConfigured(description: "scepter ca init failed: \(initialized.stderr)") }

        let database: String
        if let databaseURL { database = databaseURL } else { database = try await Self.createDatabase(on: server) }
        let redis = try await RedisServerProcess.start()
        let anchorPath = directory.appendingPathComponent("connectors.pem")
        try Self.connector.get().pem.write(to: anchorPath, atomically: true, encoding: .utf8)
        let controlPort = try RedisServerProcess.freeLoopbackPort()
        var environment = [
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_ISSUERS": "main",
            "SCEPTER_ISSUER_MAIN_CA_CERT_PATH": pki.appendingPathComponent("ca.pem").path,
            "SCEPTER_ISSUER_MAIN_CA_KEY_PATH": pki.appendingPathComponent("ca.key").path,
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": pki.appendingPathComponent("ra.pem").path,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": pki.appendingPathComponent("ra.key").path,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": staticPassword,
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": anchorPath.path,
            "SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE": audience,
            "SCEPTER_EDGE_TOKEN": edgeToken,
            "SCEPTER_ADMIN_TOKENS": adminToken,
            "SCEPTER_VIEWER_TOKENS": viewerToken,
            "SCEPTER_REDIS_URL": redis.url,
            "SCEPTER_DATABASE_URL": database,
            "SCEPTER_CONTROL_LISTEN": "127.0.0.1:\(controlPort)",
            "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(controlPort)",
            "SCEPTER_EDGE_LISTEN": "127.0.0.1:0",
            "SCEPTER_SHUTDOWN_GRACE": "10s",
        ]
        for (key, value) in extra { environment[key] = value }
        let raPEM = try String(contentsOf: pki.appendingPathComponent("ra.pem"), encoding: .utf8)
        let cluster = TestCluster(
            directory: directory, databaseURL: database, redis: redis, controlPort: controlPort, environment: environment,
            ra: PEM.firstBlock(in: raPEM, label: "CERTIFICATE") ?? [],
            caPEM: try String(contentsOf: pki.appendingPathComponent("ca.pem"), encoding: .utf8), anchorPath: anchorPath)
        try await cluster.startControl()
        for index in 0..<edges { try await cluster.startEdge(id: "edge-\(index)") }
        return cluster
    }

    private init(
        directory: URL, databaseURL: String, redis: RedisServerProcess, controlPort: Int, environment: [String: String],
        ra: [UInt8], caPEM: String, anchorPath: URL
    ) {
        self.directory = directory
        self.databaseURL = databaseURL
        self.redis = redis
        self.controlPort = controlPort
        self.environment = environment
        self.ra = ra
        self.caPEM = caPEM
        self.anchorPath = anchorPath
    }

    /// A database of its own on the test server; returns its URL.
    static func createDatabase(on server: String) async throws -> String {
        let name = "cluster_\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await Shell.run("/usr/bin/psql", [server, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw NotConfigured(description: "CREATE DATABASE failed: \(created.stderr)") }
        guard let slash = server.lastIndex(of: "/") else { throw NotConfigured(description: "\(server) has no database part") }
        return server[..<slash] + "/" + name
    }

    // MARK: Processes

    func startControl(environment extra: [String: String] = [:]) async throws {
        let control = try await RoleProcess.start("control", environment: environment.merging(extra) { $1 })
        processes.withLock { $0.control = control }
    }

    /// Another control-plane replica on the same database and Redis; returns its base URL.
    func startReplica(id: String) async throws -> String {
        let port = try RedisServerProcess.freeLoopbackPort()
        let replica = try await RoleProcess.start(
            "control", environment: environment.merging(["SCEPTER_CONTROL_LISTEN": "127.0.0.1:\(port)", "SCEPTER_CONTROL_ID": id]) { $1 })
        processes.withLock { $0.others.append(replica) }
        return "http://127.0.0.1:\(port)"
    }

    /// SIGTERM; the exit status.
    @discardableResult
    func stopControl() async -> Int32 {
        guard let control else { return 0 }
        return await control.terminate()
    }

    @discardableResult
    func startEdge(id: String, environment extra: [String: String] = [:]) async throws -> RoleProcess {
        var environment = environment.merging(extra) { $1 }
        environment["SCEPTER_EDGE_ID"] = id
        let edge = try await RoleProcess.start("edge", environment: environment)
        processes.withLock { $0.edges.append(edge) }
        return edge
    }

    func scepURL(edge: Int) -> String { "http://127.0.0.1:\(edges[edge].port)/scep/corp" }
    func edgeURL(_ edge: Int, _ path: String) -> String { "http://127.0.0.1:\(edges[edge].port)\(path)" }
    func controlURL(_ path: String) -> String { "http://127.0.0.1:\(controlPort)\(path)" }

    /// Stops every process and the Redis server; prints their logs when the test failed.
    func shutdown() async {
        let (control, edges, others) = processes.withLock { ($0.control, $0.edges, $0.others) }
        for edge in edges { await edge.terminate(grace: .seconds(15)) }
        for other in others { await other.terminate(grace: .seconds(15)) }
        await control?.terminate(grace: .seconds(15))
        checkLogsHoldNoSecret()
        await redis.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// No line any role logged (at info level) holds the value of a secret
    /// setting: tokens, passwords, the static challenge.
    func checkLogsHoldNoSecret() {
        let secretKeys = ["TOKEN", "PASSWORD", "SECRET"]
        let secrets = environment.filter { key, _ in secretKeys.contains { key.contains($0) } && !key.hasSuffix("_FILE") }
            .flatMap { $0.value.split(separator: ",").map { String($0.split(separator: ":").last ?? "") } }
            .filter { $0.count >= 8 }
        let text = logs
        for secret in secrets where text.contains(secret) {
            Issue.record("a role logged the value of a secret setting (\(secret.prefix(4))…)")
        }
    }

    /// Every process's output, for a failure message.
    var logs: String {
        let (control, edges, others) = processes.withLock { ($0.control, $0.edges, $0.others) }
        return ([control].compactMap { $0 } + others + edges).map { "--- scepter \($0.role) (pid \($0.pid)):\n\($0.log)" }.joined(separator: "\n")
    }

    // MARK: Talking to it

    struct HTTPAnswer: Sendable {
        var status: Int
        var body: [UInt8]
        var retryAfter: String?
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func http(
        _ url: String, method: HTTPMethod = .GET, body: [UInt8]? = nil, token: String? = nil, headers: [(String, String)] = [],
        client: HTTPClient = .shared
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        // Bounded: a request to a dead edge would otherwise wait out the pool's reconnect attempts.
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(30))
        } catch let error where (error as? ChannelError) == .ioOnClosedChannel || (error as? HTTPClientError) == .remoteConnectionClosed {
            // A pooled keep-alive connection the server closed as idle (SCEPTER_REQUEST_TIMEOUT) just as it was
            // reused: the request was not read, so sending it once more is what any client does.
            response = try await client.execute(request, timeout: .seconds(30))
        }
        let collected = try await response.body.collect(upTo: 4 * 1024 * 1024)
        return HTTPAnswer(
            status: Int(response.status.code), body: Array(collected.readableBytesView), retryAfter: response.headers.first(name: "Retry-After"))
    }

    /// POSTs a PKIMessage to an edge's /scep/corp.
    /// `client`: the shared one holds 8 connections per host; a test of many requests at once brings its own.
    func pkiOperation(_ message: [UInt8], edge: Int, forwardedFor: String? = nil, client: HTTPClient = .shared) async throws -> HTTPAnswer {
        try await http(
            scepURL(edge: edge) + "?operation=PKIOperation", method: .POST, body: message,
            headers: forwardedFor.map { [("X-Forwarded-For", $0)] } ?? [], client: client)
    }

    /// Rows of `query` from the cluster's database, tab-separated columns.
    func sql(_ query: String) async throws -> [[String]] {
        let result = try await Shell.run("/usr/bin/psql", [databaseURL, "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query])
        guard result.status == 0 else { throw NotConfigured(description: "psql failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    func count(_ query: String) async throws -> Int {
        Int(try await sql(query).first?.first ?? "") ?? -1
    }

    /// Waits until `audit_events` holds `expected` PKIOperation rows written by edges (not provisional); returns the count.
    @discardableResult
    func waitForAudit(_ expected: Int, timeout: Duration = .seconds(120)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var seen = -1
        while ContinuousClock.now < deadline {
            seen = try await count("SELECT count(*) FROM audit_events WHERE NOT provisional AND operation = 'PKIOperation'")
            if seen >= expected { return seen }
            try await Task.sleep(for: .milliseconds(250))
        }
        return seen
    }

    /// Holds a `mode` lock on `enrollments` from a psql session for
    /// `seconds`, making issuance wait; returns once the lock is granted.
    /// Await the task to know it was released.
    func holdEnrollmentsLock(_ mode: String = "ACCESS EXCLUSIVE", seconds: Double) async throws -> Task<Shell.Result, any Error> {
        let holder = Task {
            try await Shell.run(
                "/usr/bin/psql",
                [databaseURL, "-v", "ON_ERROR_STOP=1", "-c", "BEGIN; LOCK TABLE enrollments IN \(mode) MODE; SELECT pg_sleep(\(seconds)); COMMIT;"])
        }
        let lockName = mode.split(separator: " ").map { $0.capitalized }.joined() + "Lock"
        let granted = """
            SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'enrollments' AND l.mode = '\(lockName)' AND l.granted
            """
        for _ in 0..<300 {
            if try await count(granted) == 1 { return holder }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NotConfigured(description: "the \(mode) lock on enrollments was not granted within 30 s")
    }

    /// Polls until `condition` holds, or `timeout`; returns whether it held.
    func eventually(timeout: Duration = .seconds(60), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    // MARK: Devices

    /// Claims of an Intune challenge for device `sub` named `name`.
    static func claims(sub: String, name: String, exp: TimeInterval = 1800) -> [String: Any] {
        let now = Date().timeIntervalSince1970
        return [
            "iss": issuer, "sub": sub, "aud": audience, "iat": (now - 60).rounded(), "exp": (now + exp).rounded(),
            "nonce": UUID().uuidString, "device_name": name, "san_dns": ["\(name.lowercased()).corp.example"],
        ]
    }

    func mintChallenge(sub: String, name: String) throws -> String {
        try ChallengeMinter(Self.connector.get()).mint(claims: Self.claims(sub: sub, name: name))
    }

    /// A device whose CSR carries `challenge` and the names the claims bind.
    static func device(name: String, challenge: String) throws -> TestDevice {
        try TestDevice(commonName: name, challenge: challenge, dnsNames: ["\(name.lowercased()).corp.example"])
    }

    /// The CertRep in an HTTP answer, opened with the device's key.
    static func reply(_ answer: HTTPAnswer, device: TestDevice) throws -> SCEPClient.Reply {
        try SCEPClient.readReply(answer.body, requester: try device.signer.keyPair())
    }
}
