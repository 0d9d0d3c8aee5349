import Foundation
import Logging
import Synchronization
import ScepterProtocol
import X509

/// Answers OCSP requests for this control plane's issuers (RFC 6960, the
/// RFC 5019 profile): the status comes from the inventory on every request
/// (so a revocation on any replica shows at once), the signature from a
/// delegated responder certificate this replica issues itself and renews
/// when half its life is gone. Responses to single-question requests
/// without a nonce (RFC 5019) are reused for `reuse`, keyed by the status
/// they state, so a revocation never meets a stale answer.
package final class OCSPResponder: Sendable {
    package struct Answer: Sendable {
        package var der: [UInt8]
        /// What it says, for the metrics.
        package var result: Result
        /// For HTTP caching of GET answers; nil for failures and nonced answers.
        package var producedAt: Date?
        package var nextUpdate: Date?

        package init(der: [UInt8], result: Result, producedAt: Date? = nil, nextUpdate: Date? = nil) {
            self.der = der
            self.result = result
            self.producedAt = producedAt
            self.nextUpdate = nextUpdate
        }

        /// A response without answers.
        package static func failure(_ status: OCSP.Failure) -> Answer { Answer(der: OCSP.failure(status), result: Result(status)) }
    }

    /// An answer as `scepter_ocsp_responses_total` labels it: the status of
    /// the one certificate asked about, `several` for more, or the error sent.
    package enum Result: String, Sendable, CaseIterable {
        case good, revoked, unknown, several
        case malformedRequest = "malformed_request", internalError = "internal_error", tryLater = "try_later", unauthorized

        init(_ failure: OCSP.Failure) {
            switch failure {
            case .malformedRequest: self = .malformedRequest
            case .internalError: self = .internalError
            case .tryLater: self = .tryLater
            case .unauthorized: self = .unauthorized
            }
        }

        init(_ statuses: [OCSP.CertStatus]) {
            switch statuses.count == 1 ? statuses[0] : nil {
            case .good: self = .good
            case .revoked: self = .revoked
            case .unknown: self = .unknown
            case nil: self = .several
            }
        }
    }

    private struct Identity {
        var signer: OCSP.Signer
        var notAfter: Date
        var issuedAt: Date
    }

    private struct CacheKey: Hashable {
        var issuer: String
        var certID: [UInt8]
        var status: OCSP.CertStatus
    }

    /// Who signs responses (`SCEPTER_OCSP_SIGNER`).
    package enum SignerMode: String, Sendable, CaseIterable {
        /// A responder certificate each replica issues itself (RFC 6960 §4.2.2.2); the CA key signs once a week.
        case delegated
        /// The CA key signs every response: for relying parties that do not accept delegation.
        case ca
    }

    let issuers: [String: LocalCA]
    /// Each issuer's certificate as OpenSSL matches questions against it, parsed once.
    private let matchers: [String: OCSP.Issuer]
    let mode: SignerMode
    let store: any ControlStore
    /// How long a response says it is good for (nextUpdate - thisUpdate).
    let validity: Duration
    /// How long a signed response is served again.
    let reuse: Duration
    let responderLifetime: Duration
    let logger: Logger
    let now: @Sendable () -> Date
    private let identities = Mutex<[String: Identity]>([:])
    private let cache = Mutex<[CacheKey: (der: [UInt8], producedAt: Date)]>([:])
    /// Bound on cached responses; past it the cache starts over.
    static let cacheLimit = 100_000

    package init(
        issuers: [LocalCA], mode: SignerMode = .delegated, store: any ControlStore, validity: Duration = .seconds(3600),
        reuse: Duration = .seconds(600),
        responderLifetime: Duration = .seconds(7 * 86400), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.issuers = Dictionary(issuers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.matchers = self.issuers.compactMapValues { try? OCSP.Issuer(certificateDER: $0.certificateDER) }
        self.mode = mode
        self.store = store
        self.validity = validity
        self.reuse = reuse
        self.responderLifetime = responderLifetime
        self.logger = logger
        self.now = now
    }

    package func knows(issuer: String) -> Bool { issuers[issuer] != nil }

    /// The answer to one DER OCSPRequest for `issuer` (which the caller checked exists).
    package func answer(_ der: [UInt8], issuer name: String) async -> Answer {
        guard let issuer = issuers[name], let matcher = matchers[name] else { return .failure(.unauthorized) }
        let request: OCSP.Request
        do {
            request = try OCSP.Request(der: der)
        } catch {
            return .failure(error)
        }
        guard request.isFor(matcher) else { return .failure(.unauthorized) }
        var statuses: [OCSP.CertStatus] = []
        do {
            for question in request.questions {
                statuses.append(try await status(of: question.serialNumber, issuer: name))
            }
        } catch {
            logger.warning("OCSP status lookup failed", metadata: ["issuer": "\(name)", "error": "\(error)"])
            return .failure(.tryLater)
        }

        let at = now()
        let cacheable = !request.hasNonce && request.questions.count == 1
        let key = CacheKey(issuer: name, certID: request.questions[0].certID, status: statuses[0])
        if cacheable, let cached = cache.withLock({ $0[key] }), at.timeIntervalSince(cached.producedAt) < reuse.timeInterval {
            return Answer(
                der: cached.der, result: Result(statuses), producedAt: cached.producedAt,
                nextUpdate: cached.producedAt.addingTimeInterval(validity.timeInterval))
        }
        do {
            let signer = try identity(for: issuer, at: at)
            let der = try OCSP.response(
                answering: request, statuses: statuses, signer: signer, thisUpdate: at, nextUpdate: at.addingTimeInterval(validity.timeInterval))
            if cacheable {
                cache.withLock { cache in
                    if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                    cache[key] = (der, at)
                }
            }
            return Answer(
                der: der, result: Result(statuses), producedAt: cacheable ? at : nil,
                nextUpdate: cacheable ? at.addingTimeInterval(validity.timeInterval) : nil)
        } catch {
            logger.error("OCSP response not signed", metadata: ["issuer": "\(name)", "error": "\(error)"])
            return .failure(.internalError)
        }
    }

    /// good, revoked (time, reason), or unknown for a serial this issuer did not issue.
    private func status(of serial: String, issuer: String) async throws -> OCSP.CertStatus {
        guard let record = try await store.certificate(serialNumber: serial), record.issuer == issuer else { return .unknown }
        guard record.status == .revoked else { return .good }
        let revocation = try await store.revocation(serialNumber: serial)
        let reason = revocation.flatMap { $0.reason == .unspecified ? nil : $0.reason.code }
        return .revoked(at: revocation?.revokedAt ?? record.createdAt, reason: reason)
    }

    /// The issuer's current responder, issued anew when half its life is gone.
    private func identity(for issuer: LocalCA, at: Date) throws -> OCSP.Signer {
        if let current = identities.withLock({ $0[issuer.name] }),
            at < current.issuedAt.addingTimeInterval(current.notAfter.timeIntervalSince(current.issuedAt) / 2)
        {
            return current.signer
        }
        if mode == .ca {
            let signer = try OCSP.Signer(certificateDER: issuer.certificateDER, keyPEM: issuer.keyPEM)
            identities.withLock { $0[issuer.name] = Identity(signer: signer, notAfter: issuer.certificate.notValidAfter, issuedAt: at) }
            return signer
        }
        let (signer, notAfter) = try issuer.makeOCSPResponder(now: at, lifetime: responderLifetime)
        identities.withLock { $0[issuer.name] = Identity(signer: signer, notAfter: notAfter, issuedAt: at) }
        logger.info("OCSP responder certificate issued", metadata: ["issuer": "\(issuer.name)", "notAfter": "\(notAfter)"])
        return signer
    }
}
