import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ScepterProtocol
import ServiceLifecycle
import Synchronization
import SwiftASN1
import X509

/// The cluster's `Issuance`: the control plane over the internal HTTP API
/// (SPEC §3 steps 4, 6 and 7; §8 "Internal"), authenticated by the edge token.
///
/// - An enrollment that the control plane has not answered within
///   `waitBudget` is PENDING: the control plane keeps issuing, commits, and
///   the device's CertPoll finds the result.
/// - A control plane that cannot be reached (connection refused, connect
///   timeout, 5xx, the connection dropped before an answer) throws
///   `IssuanceUnavailable`: the edge answers 503 and the device retries the
///   same transaction, which the control plane answers idempotently.
/// - Each profile's CA chain is fetched at start, refreshed every
///   `caRefreshInterval` and on `refreshCACertificates()`, and served from
///   this cache while the control plane is away (GetCACert keeps working).
///
/// Run it as a service: it prefetches the CA chains and shuts its HTTP
/// client down after the server stopped.
package final class ControlPlaneClient: Issuance, Service {
    package let baseURL: String
    package let waitBudget: Duration
    /// `SCEPTER_EDGE_CONTROL_CONNECTIONS`: connections to the control plane at most, one per enrollment in flight.
    package static let defaultConnections = 512
    /// Bound on every call other than an enrollment.
    package let requestTimeout: Duration
    package let caRefreshInterval: Duration
    private let token: String
    private let profiles: [String]
    private let client: HTTPClient
    private let logger: Logger
    private let caCache = Mutex<[String: CACertificates]>([:])
    /// Reloads asking for the CA chains at once; several while one runs count as one.
    private let refreshRequests: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) =
        AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// - Parameters:
    ///   - baseURL: `SCEPTER_CONTROL_URL`, without a trailing slash.
    ///   - token: `SCEPTER_EDGE_TOKEN`.
    ///   - profiles: whose CA chains to keep cached.
    package init(
        baseURL: String, token: String, profiles: [String], waitBudget: Duration = .seconds(5),
        requestTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(1), connections: Int = defaultConnections,
        caRefreshInterval: Duration = .seconds(300), tls: TLSConfiguration? = nil, logger: Logger
    ) {
        self.baseURL = baseURL
        self.token = token
        self.profiles = profiles
        self.waitBudget = waitBudget
        self.requestTimeout = requestTimeout
        self.caRefreshInterval = caRefreshInterval
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        // Connecting must fail well within the wait budget, or a dead control plane would read as PENDING.
        configuration.timeout = .init(connect: .nanoseconds(min(connectTimeout, waitBudget / 2).nanoseconds))
        // One HTTP/1.1 connection per enrollment in flight. A request waiting for a free connection counts against
        // the connect timeout, so a pool smaller than the edge's concurrency turned a burst into 503s after 1 s.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.decompression = .disabled
        if let tls { configuration.tlsConfiguration = tls }
        // Never follow a redirect: the token would go wherever it points.
        configuration.redirectConfiguration = .disallow
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    // MARK: Service

    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Prefetch until every profile's chain is cached, then refresh now and then.
                group.addTask {
                    while !Task.isCancelled {
                        let missing = await self.refreshCACertificates()
                        try await Task.sleep(for: missing.isEmpty ? self.caRefreshInterval : .seconds(2))
                    }
                }
                // And at once when a reload asks.
                group.addTask {
                    for await _ in self.refreshRequests.stream {
                        let missing = await self.refreshCACertificates()
                        self.logger.notice(
                            "CA chains fetched again after a reload",
                            metadata: ["profiles": "\(self.profiles.count - missing.count) of \(self.profiles.count)"])
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
        try await client.shutdown()
    }

    /// Has every profile's CA chain fetched now, outside the periodic
    /// refresh: a reload (SIGHUP, or one the cluster asks for) picks up a CA
    /// rollover on the control plane at once instead of within `caRefreshInterval`.
    package func refreshSoon() {
        refreshRequests.continuation.yield()
    }

    /// Fetches every profile's CA chain; returns the profiles it could not fetch.
    @discardableResult
    package func refreshCACertificates() async -> [String] {
        var missing: [String] = []
        for profile in profiles {
            do {
                cache(try await fetchCACertificates(profile: profile), for: profile)
            } catch {
                missing.append(profile)
                let cached = caCache.withLock { $0[profile] != nil }
                logger.warning(
                    cached
                        ? "could not fetch the CA chain from the control plane; serving the cached one"
                        : "could not fetch the CA chain from the control plane; GetCACert answers 503 until it can",
                    metadata: ["profile": "\(profile)", "error": "\(error)"])
            }
        }
        return missing
    }

    // MARK: Issuance

    package func enroll(_ request: EnrollmentRequest) async throws -> EnrollmentDecision {
        let body = try InternalAPI.encoder().encode(request)
        let response: (HTTPResponseStatus, ByteBuffer)
        do {
            response = try await call(.POST, InternalAPI.enrollmentsPath, body: Array(body), timeout: waitBudget)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            // The request went out and the control plane is working on it: the device polls.
            logger.notice(
                "the control plane did not answer within the wait budget; answering PENDING",
                metadata: ["profile": "\(request.profile)", "transaction": "\(request.transactionID)", "budget": "\(waitBudget)"])
            return .pending
        }
        guard let decision = try decision(response, path: InternalAPI.enrollmentsPath) else {
            throw IssuanceUnavailable("control plane at \(baseURL) answered \(InternalAPI.enrollmentsPath) with 404: is SCEPTER_CONTROL_URL the control plane?")
        }
        return decision
    }

    package func poll(profile: String, transactionID: String) async throws -> EnrollmentDecision? {
        let path = InternalAPI.enrollmentPath(profile: profile, transactionID: transactionID)
        return try decision(try await call(.GET, path, timeout: requestTimeout), path: path)
    }

    package func certificate(profile: String, serialNumber: String) async throws -> IssuedCertificate? {
        let path = InternalAPI.certificatePath(profile: profile, serialNumber: serialNumber)
        let (status, body) = try await call(.GET, path, timeout: requestTimeout)
        if Self.isOwnNotFound(status, body) { return nil }
        return try decode(IssuedCertificate.self, status: status, body: body, path: path)
    }

    /// A control plane older than the parameter ignores it and answers the
    /// profile's current CRL. A request over `InternalAPI.maxCRLRequestSize`
    /// bytes of DER, which the control plane would refuse, is nil without asking.
    package func crl(profile: String, naming request: IssuerAndSerial?) async throws -> [UInt8]? {
        var requestDER: [UInt8]?
        if let request {
            var serializer = DER.Serializer()
            try serializer.serialize(request)
            guard serializer.serializedBytes.count <= InternalAPI.maxCRLRequestSize else { return nil }
            requestDER = serializer.serializedBytes
        }
        let path = InternalAPI.crlPath(profile: profile, naming: requestDER)
        let (status, body) = try await call(.GET, path, timeout: requestTimeout)
        // Only the control plane's own answer that it has no such CA: any other 404 is another server's, an outage.
        if status == .notFound, request != nil, String(buffer: body).contains(InternalAPI.unknownCRLIssuer) { return nil }
        guard status == .ok else { throw refused(status, body, path) }
        return Array(body.readableBytesView)
    }

    package func caCertificates(profile: String) async throws -> CACertificates {
        if let cached = caCache.withLock({ $0[profile] }) { return cached }
        let fetched = try await fetchCACertificates(profile: profile)
        cache(fetched, for: profile)
        return fetched
    }

    /// Keeps `fetched` as the profile's chain; a change (a CA rollover on the control plane) is logged.
    private func cache(_ fetched: CACertificates, for profile: String) {
        let previous = caCache.withLock { cache in
            defer { cache[profile] = fetched }
            return cache[profile]
        }
        if let previous, previous != fetched {
            logger.notice(
                "the control plane's CA chain changed; serving the new one",
                metadata: ["profile": "\(profile)", "next_ca": "\(fetched.next == nil ? "none" : "announced")"])
        }
    }

    /// Why the control plane cannot take enrollments from this edge now, or
    /// nil when it can: its `/readyz` answers 200, and an authenticated read
    /// of the first profile's CA chain (which also refreshes the cache)
    /// succeeds, so a wrong edge token shows here. Each call within `timeout`.
    package func unreadiness(timeout: Duration = .seconds(1)) async -> String? {
        guard let (status, _) = try? await call(.GET, "/readyz", timeout: timeout) else { return "unreachable at \(baseURL)" }
        guard status == .ok else { return "not ready (its /readyz answered \(status.code))" }
        guard let profile = profiles.first else { return nil }
        let path = InternalAPI.caPath(profile: profile)
        guard let (caStatus, body) = try? await call(.GET, path, timeout: timeout) else { return "unreachable at \(baseURL)" }
        if caStatus == .unauthorized || caStatus == .forbidden { return Self.refusal(caStatus, body) }
        guard let fetched = try? decode(CACertificates.self, status: caStatus, body: body, path: path) else {
            return "answered \(path) with HTTP \(caStatus.code)"
        }
        cache(fetched, for: profile)
        return nil
    }

    // MARK: HTTP

    private func fetchCACertificates(profile: String) async throws -> CACertificates {
        let path = InternalAPI.caPath(profile: profile)
        let (status, body) = try await call(.GET, path, timeout: requestTimeout)
        return try decode(CACertificates.self, status: status, body: body, path: path)
    }

    /// One request; transport failures other than a timeout after sending become `IssuanceUnavailable`.
    private func call(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: Duration
    ) async throws -> (HTTPResponseStatus, ByteBuffer) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let collected = try await response.body.collect(upTo: InternalAPI.maxBodySize)
            return (response.status, collected)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw error
        } catch {
            throw IssuanceUnavailable("control plane at \(baseURL) unreachable: \(error)")
        }
    }

    private func decision(_ response: (HTTPResponseStatus, ByteBuffer), path: String) throws -> EnrollmentDecision? {
        let (status, body) = response
        if Self.isOwnNotFound(status, body) { return nil }
        let wire = try decode(InternalAPI.Decision.self, status: status, body: body, path: path)
        guard let decision = wire.decision else {
            throw IssuanceUnavailable("control plane answered \(path) with a decision this edge cannot read (status \(wire.status))")
        }
        return decision
    }

    /// Whether a 404 is the control plane's own "no such record": any other
    /// (a proxy's, another server's) is an outage, answered as one, not an
    /// unknown transaction or serial.
    private static func isOwnNotFound(_ status: HTTPResponseStatus, _ body: ByteBuffer) -> Bool {
        status == .notFound && String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines) == InternalAPI.notFound
    }

    private func decode<Value: Decodable>(_ type: Value.Type, status: HTTPResponseStatus, body: ByteBuffer, path: String) throws -> Value {
        guard status == .ok else { throw refused(status, body, path) }
        do {
            return try InternalAPI.decoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw IssuanceUnavailable("control plane answered \(path) with JSON this edge cannot read: \(error)")
        }
    }

    /// Why the control plane refused this edge: its token (401, or 403 for
    /// a token without the edge role), or `SCEPTER_EDGE_PROFILES` (403 naming the profile).
    private static func refusal(_ status: HTTPResponseStatus, _ body: ByteBuffer) -> String {
        let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if status == .forbidden, text.contains("SCEPTER_EDGE_PROFILES") { return "refuses this edge: \(text)" }
        if status == .forbidden, text.contains("SCEPTER_CONTROL_CLIENT_CA_PATH") {
            return "refuses this edge: \(text); give the edge SCEPTER_EDGE_CLIENT_CERT_PATH and _KEY_PATH from that CA"
        }
        return "refuses this edge's token (HTTP \(status.code)): check SCEPTER_EDGE_TOKEN here and SCEPTER_EDGE_TOKEN(S) on the control plane"
    }

    private func refused(_ status: HTTPResponseStatus, _ body: ByteBuffer, _ path: String) -> IssuanceUnavailable {
        let text = String(decoding: body.readableBytesView.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if status == .unauthorized || status == .forbidden {
            let reason = Self.refusal(status, body)
            logger.error("the control plane refused this edge", metadata: ["status": "\(status.code)", "reason": "\(reason)"])
            return IssuanceUnavailable("control plane \(reason)")
        }
        let hint = status == .notFound ? " (not the control plane's own answer: is SCEPTER_CONTROL_URL the control plane?)" : ""
        return IssuanceUnavailable("control plane answered \(path) with HTTP \(status.code): \(text)\(hint)")
    }
}
