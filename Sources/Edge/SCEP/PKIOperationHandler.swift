import Foundation
import Logging
import ScepterProtocol
import SwiftASN1
import X509

/// One PKIOperation, top to bottom: decode and verify the PKIMessage, run the
/// gates, ask the control plane, answer with a CertRep, write the audit event.
package struct PKIOperationHandler: Sendable {
    /// What the HTTP layer sends back.
    package enum Response: Sendable, Equatable {
        /// HTTP 200 with a CertRep PKIMessage.
        case certRep([UInt8])
        /// HTTP 400: the body is not a SCEP PKIMessage.
        case badRequest(String)
        /// HTTP 503 with Retry-After: a dependency is unreachable.
        case unavailable(String)
        /// HTTP 429 with Retry-After (seconds): the source is over `SCEPTER_SOURCE_RATE_LIMIT`.
        case tooManyRequests(retryAfter: Int)
    }

    let configuration: EdgeConfiguration
    let issuance: any Issuance
    let audit: any AuditSink
    let state: any StateStore
    let metrics: EdgeMetrics
    let logger: Logger
    let now: @Sendable () -> Date
    /// Thins out the audit rows of unauthenticated refusals (floods).
    let sampler: AuditSampler

    package init(
        configuration: EdgeConfiguration, issuance: any Issuance, audit: any AuditSink, state: any StateStore,
        metrics: EdgeMetrics, logger: Logger, sampler: AuditSampler = AuditSampler(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.sampler = sampler
        self.configuration = configuration
        self.issuance = issuance
        self.audit = audit
        self.state = state
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    package func handle(_ body: [UInt8], profile: EdgeConfiguration.Profile, sourceAddress: String?) async -> Response {
        let started = ContinuousClock.now
        var event = AuditEvent(
            time: now(), edgeID: configuration.edgeID, sourceAddress: sourceAddress, profile: profile.name,
            operation: .pkiOperation, outcome: .malformed, latencyMilliseconds: 0, details: ""
        )

        // 1. The PKIMessage: signature over the authenticated attributes, envelope, content.
        let decoded: PKIMessage.Decoded
        do {
            decoded = try PKIMessage.decode(body, ra: profile.ra)
        } catch {
            event.details = "not a SCEP PKIMessage: \(error.reason)"
            return await finish(.badRequest(error.reason), event: event, started: started, sampled: true)
        }
        // Refused while decoding: nobody is authenticated yet (anyone can sign with a throwaway key).
        var sampled = false

        let header: PKIMessage.Header
        let verdict: Verdict
        switch decoded {
        case .refused(let refusedHeader, let refusal, _):
            header = refusedHeader
            sampled = true
            verdict = .refused(refusal)
        case .message(let message):
            header = message.header
            event.describe(message)
            // 2. Gates, then the control plane.
            verdict = await decide(message, profile: profile, event: &event)
        }
        event.messageType = header.messageType.name
        event.transactionID = header.transactionID

        // 3. The CertRep.
        let reply: [UInt8]
        do {
            switch verdict {
            case .certificates(let certificates, let crls, let serial, let details, let request):
                reply = try CertRep.success(certificates: certificates, crls: crls, answering: request, ra: profile.ra)
                event.outcome = .success
                event.serialNumber = serial
                if let details { event.details = details }
            case .pending:
                reply = try CertRep.pending(answering: header, ra: profile.ra)
                event.outcome = .pending
            case .refused(let refusal):
                let failInfo = refusal.outcome.failInfo ?? .badRequest
                reply = try CertRep.failure(failInfo, answering: header, ra: profile.ra)
                event.outcome = refusal.outcome
                event.failInfo = failInfo.name
                event.details = refusal.reason
            case .unavailable(let reason):
                event.outcome = .unavailable
                event.details = reason
                return await finish(.unavailable(reason), event: event, started: started)
            }
        } catch {
            // Only a broken RA key or an OpenSSL failure gets here.
            event.outcome = .unavailable
            event.details = "building the CertRep failed: \(error)"
            logger.error("building the CertRep failed", metadata: ["profile": "\(profile.name)", "error": "\(error)"])
            return await finish(.unavailable("could not build the CertRep"), event: event, started: started)
        }
        return await finish(.certRep(reply), event: event, started: started, sampled: sampled)
    }

    /// The outcome of the gates and the control plane, before it becomes a CertRep.
    enum Verdict {
        /// SUCCESS, encrypted to the request's signer.
        case certificates([[UInt8]], crls: [[UInt8]], serial: String?, details: String? = nil, answering: PKIMessage)
        case pending
        case refused(Refusal)
        case unavailable(String)
    }

    private func decide(_ message: PKIMessage, profile: EdgeConfiguration.Profile, event: inout AuditEvent) async -> Verdict {
        let transactionID = message.header.transactionID
        do {
            switch message.content {
            case .certificationRequest(let csr):
                return try await enroll(csr, message: message, profile: profile, event: &event)

            case .issuerAndSubject:
                guard let decision = try await issuance.poll(profile: profile.name, transactionID: transactionID) else {
                    return .refused(Refusal(.unknownTransaction, "CertPoll for transaction \(transactionID), which this profile does not know"))
                }
                return verdict(for: decision, message: message)

            case .issuerAndSerial(let issuerAndSerial):
                if message.header.messageType == .getCRL {
                    // The CRL of the CA the client names (RFC 8894 §3.3.4), which after a rollover may be a retired one.
                    guard let crl = try await issuance.crl(profile: profile.name, naming: issuerAndSerial) else {
                        // The client chose the name: at most 256 characters of it in the audit record (the log escapes what it prints).
                        let named = String(describing: issuerAndSerial.issuer)
                        let quoted = named.count > 256 ? String(named.prefix(256)) + "…" : named
                        return .refused(
                            Refusal(.unknownTransaction, "GetCRL names issuer \(quoted), a CA profile \(profile.name) does not answer for (SCEPTER_ISSUERS, the profile's ISSUER)"))
                    }
                    return .certificates([], crls: [crl], serial: nil, answering: message)
                }
                let serial = issuerAndSerial.serialNumber.hexString
                guard let issued = try await issuance.certificate(profile: profile.name, serialNumber: serial) else {
                    return .refused(Refusal(.unknownTransaction, "GetCert for serial \(serial), which this profile did not issue"))
                }
                // Serials are unique per issuer only: the named issuer must be the one that
                // signed it, compared as RFC 5280 compares names (a client may re-encode it).
                guard let certificate = try? Certificate(derEncoded: issued.certificate) else {
                    return .refused(Refusal(.issuerError, "GetCert for serial \(serial): the stored certificate does not parse"))
                }
                guard certificate.issuer.matches(issuerAndSerial.issuer) else {
                    return .refused(
                        Refusal(.unknownTransaction, "GetCert for serial \(serial) names an issuer other than the CA that issued it"))
                }
                return .certificates([issued.certificate], crls: [], serial: serial, answering: message)
            }
        } catch {
            logger.warning("a dependency is unavailable", metadata: ["profile": "\(profile.name)", "error": "\(error)"])
            return .unavailable("unavailable: \(error)")
        }
    }

    /// A PKCSReq or RenewalReq: its challenge or its signer certificate, then the control plane.
    private func enroll(
        _ csr: CertificationRequest, message: PKIMessage, profile: EdgeConfiguration.Profile, event: inout AuditEvent
    ) async throws -> Verdict {
        let transactionID = message.header.transactionID
        let authentication = try await authenticate(csr, message: message, profile: profile)
        switch authentication {
        case .refused(let refusal, let claim):
            event.describe(claim)
            return .refused(refusal)
        case .renewal(let failedChallenge):
            let gate = RenewalGate(profile: profile, state: state, now: now())
            if let refusal = try await gate.check(signerCertificate: message.signerCertificate, csr: csr, transactionID: transactionID) {
                return .refused(refusal.standingIn(for: failedChallenge))
            }
        case .challenge:
            break
        }
        let passed = authentication.passed
        event.describe(passed.claim)
        let request = EnrollmentRequest(
            profile: profile.name, transactionID: transactionID, messageType: authentication.messageType,
            csr: csr.derEncoded, signerCertificate: message.signerCertificate,
            claim: passed.claim.map { ClaimSummary(subject: $0.subject, issuer: $0.issuer, deviceName: $0.deviceName) },
            gates: ["message"] + passed.gates, challenge: passed.check, edgeID: configuration.edgeID, sourceAddress: event.sourceAddress,
            auditEventID: event.id, auditEventTime: event.time, csrSubject: event.csrSubject, csrSANs: event.csrSANs, parsedCSR: csr)
        let decided = verdict(for: try await issuance.enroll(request), message: message)
        guard case .renewal(let failedChallenge?) = authentication else { return decided }
        return decided.standingIn(for: failedChallenge)
    }

    /// What vouches for an enrollment before the control plane sees it, or why nothing does.
    private enum Authentication {
        /// A PKCSReq's challenge passed its gates.
        case challenge(ChallengeGate.Passed)
        /// A RenewalReq, or a PKCSReq whose static challenge failed (`failedChallenge`) and whose
        /// signer certificate stands in for it: the control plane checks it as a RenewalReq.
        case renewal(failedChallenge: Refusal?)
        /// Refused; the claim is given when it was trustworthy enough to read.
        case refused(Refusal, claim: IntuneClaim?)

        var passed: ChallengeGate.Passed {
            guard case .challenge(let passed) = self else { return ChallengeGate.Passed(gates: ["renewal"], claim: nil, check: nil) }
            return passed
        }

        /// The control plane runs its renewal checks when, and only when, it is told RenewalReq.
        var messageType: MessageType {
            if case .renewal = self { return .renewalReq }
            return .pkcsReq
        }
    }

    /// A RenewalReq is a renewal. A PKCSReq is its challenge's, unless that is
    /// a static challenge that fails (`challenge_invalid`) while the message
    /// is signed with what can renew: then it is that certificate's renewal,
    /// as in NDES's renewal mode (certmonger and Cisco IOS renew so, with a
    /// challenge that may have changed since).
    private func authenticate(_ csr: CertificationRequest, message: PKIMessage, profile: EdgeConfiguration.Profile) async throws -> Authentication {
        guard message.header.messageType == .pkcsReq else { return .renewal(failedChallenge: nil) }
        let gate = ChallengeGate(profile: profile, state: state, now: now())
        switch try await gate.check(csr, transactionID: message.header.transactionID) {
        case .passed(let passed):
            return .challenge(passed)
        case .refused(let refusal, let claim):
            guard refusal.outcome == .challengeInvalid, let signer = try? Certificate(derEncoded: message.signerCertificate),
                signer.issuer != signer.subject
            else { return .refused(refusal, claim: claim) }
            // Judged here what needs no inventory, so a request that cannot renew stays a challenge refusal,
            // which is never recorded against its transaction; the control plane checks the rest.
            let ca = try Certificate(derEncoded: try await issuance.caCertificates(profile: profile.name).issuer)
            let serial = signer.serialNumber.hexString
            if let problem = ca.problemVouching(for: signer, now: now(), caName: "of profile \(profile.name)") ?? csr.renewalProblem(renewing: signer) {
                return .refused(
                    Refusal(.challengeInvalid, "\(refusal.reason); its signer certificate \(serial) cannot renew: \(problem)"), claim: claim)
            }
            return .renewal(failedChallenge: refusal)
        }
    }

    private func verdict(for decision: EnrollmentDecision, message: PKIMessage) -> Verdict {
        switch decision {
        case .issued(let issued):
            return .certificates(
                [issued.certificate] + issued.chain, crls: [], serial: issued.serialNumber, details: issued.details, answering: message)
        case .pending:
            return .pending
        case .rejected(let refusal):
            return .refused(refusal)
        }
    }

    /// A PKIOperation refused before it reached the decoder (oversized, no
    /// message, not base64): still exactly one audit event.
    package func refuseUnread(_ reason: String, response: Response, profile: String, sourceAddress: String?) async -> Response {
        let event = AuditEvent(
            time: now(), edgeID: configuration.edgeID, sourceAddress: sourceAddress, profile: profile,
            operation: .pkiOperation, outcome: .malformed, latencyMilliseconds: 0, details: reason)
        return await finish(response, event: event, started: ContinuousClock.now, sampled: true)
    }

    /// 429 when `source` is over `SCEPTER_SOURCE_RATE_LIMIT` PKIOperations
    /// per minute (a token bucket shared by all edges); nil to go on. Runs
    /// before the body is read. Fails open when the state store is down: the
    /// request then meets the gates that need it.
    package func throttle(source: String?, profile: String) async -> Response? {
        let limit = configuration.sourceRateLimit
        guard limit > 0, let source else { return nil }
        let wait: Duration?
        do {
            wait = try await state.take("source:" + source, capacity: limit, now: now())
        } catch {
            logger.warning("per-source limit not checked: the state store is unavailable", metadata: ["error": "\(error)"])
            return nil
        }
        guard let wait else { return nil }
        let seconds = max(1, Int(wait.timeInterval.rounded(.up)))
        let event = AuditEvent(
            time: now(), edgeID: configuration.edgeID, sourceAddress: source, profile: profile, operation: .pkiOperation,
            outcome: .rateLimited, latencyMilliseconds: 0,
            details: "source \(source) is over SCEPTER_SOURCE_RATE_LIMIT (\(limit) PKIOperations per minute); told to retry after \(seconds) s")
        return await finish(.tooManyRequests(retryAfter: seconds), event: event, started: ContinuousClock.now, sampled: true)
    }

    /// Writes the audit event, then the metrics and the log line. An event
    /// that cannot be written turns the answer into 503, so the device retries
    /// and nothing goes unrecorded. `sampled`: an unauthenticated refusal,
    /// audited through the sampler.
    private func finish(_ response: Response, event: AuditEvent, started: ContinuousClock.Instant, sampled: Bool = false) async -> Response {
        var event = event
        var response = response
        let elapsed = ContinuousClock.now - started
        if sampled {
            switch sampler.decide(source: event.sourceAddress, outcome: event.outcome, now: event.time) {
            case .count:
                metrics.record(profile: event.profile, outcome: event.outcome, duration: elapsed)
                metrics.recordUnaudited(outcome: event.outcome)
                return response
            case .audit(let suppressed) where suppressed > 0:
                event.details += " (\(suppressed) more like it from this source in the minute before were counted in metrics, not audited one by one)"
            case .audit:
                break
            }
        }
        event.latencyMilliseconds = elapsed.timeInterval * 1000
        do {
            try await audit.record(event)
        } catch {
            logger.error("audit event not recorded; answering 503", metadata: ["error": "\(error)", "event": "\(event.id)"])
            event.outcome = .unavailable
            event.details = "audit log unavailable: \(error)"
            response = .unavailable("audit log unavailable")
        }
        metrics.record(profile: event.profile, outcome: event.outcome, duration: elapsed)
        var logMetadata: Logger.Metadata = [
            "profile": "\(event.profile)", "outcome": "\(event.outcome.rawValue)",
            "transaction": "\(event.transactionID ?? "-")",
        ]
        if !event.details.isEmpty { logMetadata["reason"] = "\(event.details)" }
        logger.info("PKIOperation", metadata: logMetadata)
        return response
    }
}

extension AuditEvent {
    fileprivate mutating func describe(_ claim: IntuneClaim?) {
        guard let claim else { return }
        claimSubject = claim.subject
        claimIssuer = claim.issuer
        deviceName = claim.deviceName
    }

    fileprivate mutating func describe(_ message: PKIMessage) {
        if case .certificationRequest(let csr) = message.content {
            csrSubject = csr.subject.description
            csrSANs = csr.subjectAlternativeNames.summary
        }
    }
}

extension Refusal {
    /// This renewal refusal of a PKCSReq whose failed `challenge` its signer
    /// certificate stood in for: both reasons (nil: a RenewalReq's own).
    func standingIn(for challenge: Refusal?) -> Refusal {
        guard let challenge else { return self }
        return Refusal(outcome, "\(challenge.reason); as a renewal by its signer certificate: \(reason)")
    }
}

extension PKIOperationHandler.Verdict {
    /// The control plane's answer to a PKCSReq taken as a renewal, saying so in the audit record.
    func standingIn(for challenge: Refusal) -> Self {
        switch self {
        case .certificates(let certificates, let crls, let serial, let details, let answering):
            let taken = "PKCSReq taken as a renewal by its signer certificate (its challenge failed)"
            return .certificates(certificates, crls: crls, serial: serial, details: details.map { "\(taken); \($0)" } ?? taken, answering: answering)
        case .refused(let refusal):
            return .refused(refusal.standingIn(for: challenge))
        case .pending, .unavailable:
            return self
        }
    }
}
