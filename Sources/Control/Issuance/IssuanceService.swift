import Crypto
import Foundation
import Logging
import Synchronization
import SwiftASN1
import X509
import ScepterProtocol

/// The control plane's side of `Issuance`: policy, issuance and the
/// idempotent commit of certificate and enrollment record.
package final class IssuanceService: Issuance {
    private struct TransactionKey: Hashable {
        var profile: String
        var transactionID: String
    }

    /// A request being processed by this replica: its CSR's digest and its work.
    private struct Running {
        var csrSHA256: String
        var task: Task<EnrollmentDecision, any Error>
    }

    let configuration: ControlConfiguration
    let store: any ControlStore
    let logger: Logger
    let now: @Sendable () -> Date
    /// Tells other control-plane replicas what this one is issuing, so their CertPolls answer PENDING.
    let replicas: (any InFlightRegistry)?
    /// Intune's validation service for each `intune-api` profile, by profile name.
    let intune: [String: IntuneClient]
    /// Concurrent copies of one request share one issuance; another CSR
    /// under the same transaction waits for its turn (it is refused).
    private let inFlight = Mutex<[TransactionKey: Running]>([:])
    /// Each issuer's current CRL, for GetCRL and `GET /crl/{issuer}.crl`.
    package let crls: CRLPublisher
    /// Each issuer's OCSP responder, for `/ocsp/{issuer}`.
    package let ocsp: OCSPResponder

    package init(
        configuration: ControlConfiguration, store: any ControlStore, logger: Logger, replicas: (any InFlightRegistry)? = nil,
        intune: [String: IntuneClient] = [:], now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.replicas = replicas
        self.intune = intune
        self.now = now
        self.crls = CRLPublisher(issuers: Array(configuration.issuers.values), store: store, now: now)
        self.ocsp = OCSPResponder(
            issuers: Array(configuration.issuers.values), mode: configuration.ocspSigner, store: store, logger: logger, now: now)
    }

    /// How long an issuance runs before it is noted in the in-flight registry.
    static let inFlightNoteDelay: Duration = .milliseconds(250)

    package func enroll(_ request: EnrollmentRequest) async throws -> EnrollmentDecision {
        let key = TransactionKey(profile: request.profile, transactionID: request.transactionID)
        let csrSHA256 = SHA256Hex.of(request.csr)
        let task: Task<EnrollmentDecision, any Error>? = inFlight.withLock { running in
            if let existing = running[key] { return existing.csrSHA256 == csrSHA256 ? existing.task : nil }
            let task = Task {
                // Only a slow issuance is noted for the other replicas (embedded mode has no registry).
                let note = self.replicas.map {
                    InFlightNote(registry: $0, profile: request.profile, transactionID: request.transactionID, after: Self.inFlightNoteDelay)
                }
                defer { note?.end() }
                return try await self.process(request, csrSHA256: csrSHA256)
            }
            running[key] = Running(csrSHA256: csrSHA256, task: task)
            return task
        }
        guard let task else { return .rejected(Self.earlierRequestPending(request.transactionID)) }
        defer {
            // Only this caller's task: a later request may have registered its own.
            inFlight.withLock { running in
                if running[key]?.task == task { running.removeValue(forKey: key) }
            }
        }
        return try await task.value
    }

    /// Another CSR under a transaction whose earlier request is unfinished.
    /// Not recorded: once the earlier one finishes, this CSR may be sent again.
    private static func earlierRequestPending(_ transactionID: String) -> Refusal {
        Refusal(
            .policyViolation,
            "transactionID \(transactionID) has an earlier request with another CSR that is still pending; poll for it (CertPoll) before sending a new CSR")
    }

    /// One request: the recorded answer if this exact request (same CSR) was
    /// seen, else (for an opaque Intune challenge) Intune's verdict, then
    /// policy, issue, commit and (Intune again) the success notification
    /// before the certificate goes back. Another CSR under a finished
    /// transaction is a new request through every step (the edge has already
    /// held its challenge to single use).
    private func process(_ request: EnrollmentRequest, csrSHA256 csrHash: String) async throws -> EnrollmentDecision {
        let requestKey = EnrollmentKey(profile: request.profile, transactionID: request.transactionID, csrSHA256: csrHash)
        // One query answers both questions: was this exact request seen, and is another of its transaction pending?
        let earlier = try await store.enrollments(profile: request.profile, transactionID: request.transactionID)
        var seen = earlier.first { $0.csrSHA256 == csrHash }
        if seen == nil, earlier.count >= ControlStoreLimits.enrollmentsPerTransaction { seen = try await store.enrollment(requestKey) }
        if let recorded = seen {
            if recorded.status == .notifying { return try await resumeNotification(request, recorded: recorded) }
            return try await decision(for: recorded)
        }
        if earlier.contains(where: { $0.status == .notifying }) {
            return .rejected(Self.earlierRequestPending(request.transactionID))
        }
        guard let profile = configuration.profiles[request.profile] else {
            return .rejected(Refusal(.policyViolation, "profile \(request.profile) is not configured on the control plane"))
        }
        let at = now()

        // An opaque Intune challenge issues only on Intune's Success (SPEC §5.2).
        var approval: IntuneApproval?
        if request.challenge == .intuneAPI {
            switch try await askIntune(request) {
            case .approved(let approved): approval = approved
            case .refused(let refusal): return try await reject(request, refusal, csrHash: csrHash, at: at)
            }
        }

        let certificate: Certificate
        let csr: CertificationRequest
        var renewedSerial: String?
        do {
            // The edge verified these bytes: in this process it hands over its
            // parse; over the authenticated internal API they are parsed
            // again, without verifying the self-signature a second time.
            if let parsed = request.parsedCSR {
                csr = parsed
            } else {
                csr = try CertificationRequest(derEncoded: request.csr, selfSignatureVerified: true)
            }
            if request.messageType == .renewalReq {
                renewedSerial = try await checkRenewal(request, csr: csr, profile: profile, at: at)
            }
            certificate = try profile.issuer.issue(
                csr, profile: profile.policy, now: at, crlURL: configuration.crlURL(issuer: profile.issuer.name),
                ocspURL: configuration.ocspURL(issuer: profile.issuer.name))
        } catch {
            if error.outcome == .unavailable { throw IssuanceUnavailable(error.reason) }
            if let approval { await approval.reportFailure(of: request, error, logger: logger) }
            return try await reject(request, error, csrHash: csrHash, at: at)
        }

        let serial = certificate.serialNumber.hexString
        let der = try certificate.derBytes
        let record = CertificateRecord(
            serialNumber: serial, issuer: profile.issuer.name, profile: profile.name,
            subject: certificate.subject.description, subjectAlternativeNames: csr.subjectAlternativeNames.summary,
            notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter,
            transactionID: request.transactionID, deviceID: request.claim?.subject, der: der, createdAt: at)
        // With Intune, the certificate waits (`notifying`) until Intune has acknowledged it.
        let enrollment = EnrollmentRecord(
            profile: profile.name, transactionID: request.transactionID, messageType: request.messageType.name,
            status: approval == nil ? .issued : .notifying, serialNumber: serial, outcome: .success,
            reason: "issued by \(profile.issuer.name)" + (approval.map { "; \($0.validated)" } ?? ""),
            csrSHA256: csrHash, createdAt: at)
        do {
            try await store.commitIssued(
                record, enrollment: enrollment, audit: provisionalAudit(request, serial: serial, at: at), supersedes: renewedSerial)
        } catch is StoreConflict {
            // Another control plane replica committed this request first: answer what it recorded.
            guard let recorded = try await store.enrollment(requestKey) else {
                throw IssuanceUnavailable("enrollment conflict without a recorded enrollment")
            }
            return try await decision(for: recorded)
        }
        logger.info("issued", metadata: ["profile": "\(profile.name)", "serial": "\(serial)", "transaction": "\(request.transactionID)"])
        let issued = IssuedCertificate(certificate: der, chain: [profile.issuer.certificateDER] + profile.issuer.chain, serialNumber: serial)
        guard let approval else { return .issued(issued) }
        return try await deliver(issued, record: record, request: request, key: requestKey, approval: approval, profile: profile)
    }

    /// The audit row committed with the certificate; the edge's own event
    /// (same id) replaces it. It records what the edge will: the edge's time
    /// (an edge too old to send it gets the issuance's), identity and serial,
    /// so the replacement changes no indexed column (`Schema.auditIndexedColumns`).
    private func provisionalAudit(_ request: EnrollmentRequest, serial: String, at: Date) -> AuditEvent? {
        guard let id = request.auditEventID else { return nil }
        return AuditEvent(
            id: id, time: request.auditEventTime ?? at, edgeID: request.edgeID, sourceAddress: request.sourceAddress, profile: request.profile,
            operation: .pkiOperation, messageType: request.messageType.name, transactionID: request.transactionID,
            outcome: .success, claimSubject: request.claim?.subject, claimIssuer: request.claim?.issuer,
            deviceName: request.claim?.deviceName, csrSubject: request.csrSubject, csrSANs: request.csrSANs, serialNumber: serial,
            latencyMilliseconds: 0,
            details: "recorded by the control plane at issuance; replaced by the edge's event once it arrives")
    }

    private func reject(_ request: EnrollmentRequest, _ refusal: Refusal, csrHash: String, at: Date) async throws -> EnrollmentDecision {
        // An issuer failure may be transient: do not pin it to the transaction.
        if refusal.outcome != .issuerError {
            let record = EnrollmentRecord(
                profile: request.profile, transactionID: request.transactionID, messageType: request.messageType.name,
                status: .rejected, serialNumber: nil, outcome: refusal.outcome, reason: refusal.reason, csrSHA256: csrHash,
                createdAt: at)
            do {
                try await store.commitRejected(record)
            } catch is StoreConflict {
                if let recorded = try await store.enrollment(record.key) {
                    return try await decision(for: recorded)
                }
            }
        }
        logger.notice("refused", metadata: ["profile": "\(request.profile)", "outcome": "\(refusal.outcome.rawValue)", "reason": "\(refusal.reason)"])
        return .rejected(refusal)
    }

    /// A renewal is signed with a current, unrevoked certificate this profile
    /// issued, and asks for the same identity: the subject it had and no name
    /// it did not have (renewals carry no challenge). The CA that must vouch
    /// for it is the one that issued it, as the inventory records: after a
    /// rollover the profile's new CA renews what its retired one issued.
    private func checkRenewal(
        _ request: EnrollmentRequest, csr: CertificationRequest, profile: ControlConfiguration.Profile, at: Date
    ) async throws(Refusal) -> String {
        let signer: Certificate
        do {
            signer = try Certificate(derEncoded: request.signerCertificate)
        } catch {
            throw Refusal(.renewalInvalid, "renewal signer certificate does not parse")
        }
        let serial = signer.serialNumber.hexString
        let record: CertificateRecord?
        do {
            record = try await store.certificate(serialNumber: serial)
        } catch {
            throw Refusal(.unavailable, "certificate inventory unavailable: \(error)")
        }
        guard let record, record.profile == profile.name else {
            // Still the issuer's verdict first, when it has one: it says more than "not issued here".
            if let problem = profile.issuer.vouchesFor(signer, now: at) {
                throw Refusal(.renewalInvalid, "renewal signer certificate \(serial): \(problem)")
            }
            throw Refusal(.renewalInvalid, "renewal signer certificate \(serial) was not issued by profile \(profile.name)")
        }
        // The very certificate Scepter issued and stored, not another the same CA signed with its serial:
        // a retired CA's key, kept for its CRL, must not mint renewals into any identity.
        guard request.signerCertificate == record.der else {
            throw Refusal(.renewalInvalid, "renewal signer certificate \(serial) is not the certificate this profile issued under that serial")
        }
        guard let issuer = configuration.issuers[record.issuer] else {
            throw Refusal(
                .renewalInvalid,
                "renewal signer certificate \(serial) was issued by issuer \(record.issuer), which is no longer configured (SCEPTER_ISSUERS)")
        }
        if let problem = issuer.vouchesFor(signer, now: at) {
            throw Refusal(.renewalInvalid, "renewal signer certificate \(serial): \(problem)")
        }
        guard record.status == .active else {
            throw Refusal(.renewalInvalid, "renewal signer certificate \(serial) is \(record.status.rawValue)")
        }
        if let problem = csr.renewalProblem(renewing: signer) {
            throw Refusal(.renewalInvalid, problem)
        }
        return serial
    }

    func decision(for recorded: EnrollmentRecord) async throws -> EnrollmentDecision {
        switch recorded.status {
        case .rejected:
            return .rejected(Refusal(recorded.outcome, recorded.reason))
        case .notifying:
            // Intune has not acknowledged the certificate yet: never hand it out.
            return .pending
        case .issued:
            guard let serial = recorded.serialNumber, let certificate = try await store.certificate(serialNumber: serial),
                let profile = configuration.profiles[recorded.profile]
            else {
                throw IssuanceUnavailable("enrollment \(recorded.transactionID) is recorded as issued but its certificate is missing")
            }
            return .issued(IssuedCertificate(certificate: certificate.der, chain: configuration.chain(of: certificate, in: profile), serialNumber: serial))
        }
    }

    /// CertPoll: the transaction's newest request (only one of its requests
    /// can be pending at a time).
    package func poll(profile: String, transactionID: String) async throws -> EnrollmentDecision? {
        if let recorded = try await store.enrollments(profile: profile, transactionID: transactionID).first {
            return try await decision(for: recorded)
        }
        // Still being issued, by this process or another replica: the device keeps polling.
        let running = inFlight.withLock { $0[TransactionKey(profile: profile, transactionID: transactionID)] != nil }
        if running { return .pending }
        if await replicas?.isInFlight(profile: profile, transactionID: transactionID) == true { return .pending }
        // Or it finished between the read above and these checks: an issuance stops being in flight only after
        // its record is committed, so a second read finds it. Without it, a poll in that instant was told the
        // transaction is unknown (badCertId) although its certificate had just been issued.
        guard let recorded = try await store.enrollments(profile: profile, transactionID: transactionID).first else { return nil }
        return try await decision(for: recorded)
    }

    package func certificate(profile: String, serialNumber: String) async throws -> IssuedCertificate? {
        guard let record = try await store.certificate(serialNumber: serialNumber), record.profile == profile,
            let configured = configuration.profiles[profile]
        else { return nil }
        return IssuedCertificate(certificate: record.der, chain: configuration.chain(of: record, in: configured), serialNumber: serialNumber)
    }

    package func crl(profile: String, naming request: IssuerAndSerial?) async throws -> [UInt8]? {
        guard let configured = configuration.profiles[profile] else {
            throw IssuanceUnavailable("profile \(profile) is not configured on the control plane")
        }
        var issuer = configured.issuer
        if let request {
            guard let named = try await crlIssuer(for: request, in: configured) else { return nil }
            issuer = named
        }
        guard let crl = try await crls.crl(issuer: issuer.name) else {
            throw IssuanceUnavailable("issuer \(issuer.name) has no CRL publisher on the control plane")
        }
        return crl.der
    }

    /// The issuer whose CRL a GetCRL naming `request` asks for (RFC 8894
    /// §3.3.4), its CA's subject matching the named issuer (RFC 5280 §7.1).
    /// Two CAs may share a name (`scepter ca init` names every CA alike
    /// unless told otherwise); the serial tells them apart:
    /// - a certificate of this profile with that serial: the issuer the
    ///   inventory says issued it, or nil when that issuer is no longer
    ///   configured (no CRL here can list it);
    /// - a CA certificate's own serial (some clients send it): that CA;
    /// - else the profile's current issuer, else one no profile issues from
    ///   (retired by a rollover), the first by name. Other profiles'
    ///   issuers are not this profile's to answer for.
    /// nil when none matches.
    func crlIssuer(for request: IssuerAndSerial, in profile: ControlConfiguration.Profile) async throws -> LocalCA? {
        let inUse = Set(configuration.profiles.values.map(\.issuer.name))
        let candidates = configuration.issuers.values.filter { $0.certificate.subject.matches(request.issuer) }
        guard !candidates.isEmpty else { return nil }
        if let record = try await store.certificate(serialNumber: request.serialNumber.hexString), record.profile == profile.name {
            if let issuer = candidates.first(where: { $0.name == record.issuer }) { return issuer }
            let issuedBy = (try? Certificate(derEncoded: record.der))?.issuer
            if configuration.issuers[record.issuer] == nil, issuedBy?.matches(request.issuer) == true { return nil }
        }
        if let named = candidates.filter({ $0.certificate.serialNumber == request.serialNumber }).min(by: { $0.name < $1.name }) {
            return named.name == profile.issuer.name || !inUse.contains(named.name) ? named : nil
        }
        if candidates.contains(where: { $0.name == profile.issuer.name }) { return profile.issuer }
        return candidates.filter { !inUse.contains($0.name) }.min { $0.name < $1.name }
    }

    package func caCertificates(profile: String) async throws -> CACertificates {
        guard let configured = configuration.profiles[profile] else {
            throw IssuanceUnavailable("profile \(profile) is not configured on the control plane")
        }
        return CACertificates(issuer: configured.issuer.certificateDER, intermediates: configured.issuer.chain, next: configured.nextCA)
    }
}

extension Certificate {
    var derBytes: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(self)
            return serializer.serializedBytes
        }
    }
}
