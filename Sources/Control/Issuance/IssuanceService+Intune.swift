import Crypto
import Foundation
import Logging
import ScepterProtocol
import X509

/// Intune's `validateRequest` said Success for this transaction.
struct IntuneApproval: Sendable {
    let client: IntuneClient
    /// For the enrollment reason and the audit record, e.g.
    /// `Intune validateRequest Success (client-request-id …)`.
    let validated: String

    /// `failureNotification` after Scepter could not issue what Intune
    /// allowed. Best effort: the device's answer does not wait on a second failure.
    func reportFailure(of request: EnrollmentRequest, _ refusal: Refusal, logger: Logger) async {
        let hResult = refusal.outcome == .policyViolation || refusal.outcome == .renewalInvalid ? HResult.invalidArgument : HResult.fail
        do {
            let id = try await client.notifyFailure(
                transactionID: request.transactionID, csr: request.csr, hResult: hResult, description: "\(refusal.outcome.rawValue): \(refusal.reason)")
            logger.notice("Intune told of a failed issuance", metadata: ["transaction": "\(request.transactionID)", "client-request-id": "\(id)"])
        } catch {
            logger.error("Intune failureNotification not delivered", metadata: ["transaction": "\(request.transactionID)", "error": "\(error)"])
        }
    }
}

/// The Windows HRESULTs a failureNotification carries.
enum HResult {
    /// E_INVALIDARG: the request breaks the certificate profile.
    static let invalidArgument = Int32(bitPattern: 0x8007_0057)
    /// E_FAIL: the CA could not issue, or the certificate could not be delivered.
    static let fail = Int32(bitPattern: 0x8000_4005)
}

/// Microsoft's validateRequest codes as Scepter's outcome labels (SPEC §6);
/// the code itself stays in the audit record's details.
enum IntuneCodes {
    static func outcome(for code: String) -> Outcome {
        switch code {
        case "ChallengeExpired", "ChallengeInvalidTimestamp", "SecretKeyExpired":
            .expired
        case "ChallengeDecryptionError":
            .signatureInvalid
        case "ChallengeDeserializationError", "CertificateRequestDecodingFailed":
            .malformed
        case "SubjectNameMismatch", "SubjectAltNameMismatch":
            .claimMismatch
        case "NotCompliant", "DeviceNotCompliant":
            .complianceFailed
        default:
            // ScepProfileNoLongerTargetedToTheClient, DeviceNotFound and codes Microsoft adds later.
            .intuneRejected
        }
    }
}

extension IssuanceService {
    enum IntuneAnswer {
        case approved(IntuneApproval)
        case refused(Refusal)
    }

    /// validateRequest. A verdict other than Success, or an answer of
    /// validateRequest that is no verdict at all, is a refusal recorded with
    /// the transaction (a retransmission does not ask Intune again). No
    /// answer, and any failure before validateRequest was sent (Entra's
    /// token, Graph's discovery: Scepter's configuration, not the device's
    /// request), is `IssuanceUnavailable` (503): the device retries.
    func askIntune(_ request: EnrollmentRequest) async throws -> IntuneAnswer {
        guard let client = intune[request.profile] else {
            let variable = "SCEPTER_PROFILE_\(Settings.variableName(request.profile))_INTUNE_MODE"
            return .refused(
                Refusal(
                    .policyViolation,
                    "the edge sent an Intune challenge for profile \(request.profile), but this control plane has no intune-api credentials for it: set \(variable)=intune-api and its INTUNE_* variables on the control plane"))
        }
        let verdict: IntuneClient.Verdict
        do {
            verdict = try await client.validate(transactionID: request.transactionID, csr: request.csr)
        } catch {
            switch error.code {
            case .badAnswer, .refused(status: 400), .refused(status: 409), .refused(status: 422):
                guard error.call == .validateRequest else { throw IssuanceUnavailable("Intune \(error)") }
                return .refused(Refusal(.intuneRejected, "Intune validateRequest gave no verdict, nothing issued: \(error)"))
            default:
                throw IssuanceUnavailable("Intune \(error)")
            }
        }
        let trace = "Intune validateRequest \(verdict.code) (client-request-id \(verdict.clientRequestID))"
        guard verdict.code == "Success" else {
            let description = verdict.errorDescription.isEmpty ? "" : ": \(verdict.errorDescription.prefix(300))"
            return .refused(Refusal(IntuneCodes.outcome(for: verdict.code), trace + description))
        }
        return .approved(IntuneApproval(client: client, validated: trace))
    }

    /// Tells Intune of the certificate, then hands it out. If Intune cannot be
    /// told, the certificate is revoked and never delivered (Microsoft's
    /// contract), the device gets FAILURE, and Intune hears of the failure.
    func deliver(
        _ issued: IssuedCertificate, record: CertificateRecord, request: EnrollmentRequest, key: EnrollmentKey, approval: IntuneApproval,
        profile: ControlConfiguration.Profile
    ) async throws -> EnrollmentDecision {
        let notification = IntuneClient.Issued(
            transactionID: request.transactionID, csr: request.csr,
            thumbprint: Insecure.SHA1.hash(data: record.der).map { String(format: "%02X", $0) }.joined(),
            serialNumber: record.serialNumber, notAfter: record.notAfter,
            issuingAuthority: profile.issuer.certificate.subject.description, caConfiguration: profile.issuer.name)
        do {
            let id = try await approval.client.notifySuccess(notification)
            let details = "\(approval.validated); successNotification acknowledged (client-request-id \(id))"
            try await store.markDelivered(key, reason: "issued by \(profile.issuer.name); \(details)")
            var delivered = issued
            delivered.details = details
            return .issued(delivered)
        } catch let error as IntuneAPIError where error.call != .successNotification || error.code == .breakerOpen {
            // Not sent (the token or discovery it needed failed, or the breaker is open): Intune was not told and
            // could not have refused. The enrollment stays `notifying`; the device's retransmission notifies again.
            throw IssuanceUnavailable("Intune successNotification not sent, certificate \(record.serialNumber) held back: \(error)")
        } catch let error as IntuneAPIError {
            let reason =
                "\(approval.validated); successNotification failed (\(error)): certificate \(record.serialNumber) revoked and not delivered"
            let withdrawn = try await store.withdraw(
                key, outcome: .notificationFailed, reason: reason,
                revocation: Revocation(serialNumber: record.serialNumber, reason: .cessationOfOperation, actor: "scepter", at: now()))
            guard withdrawn else {
                // Another replica finished this transaction meanwhile: its answer stands.
                guard let recorded = try await store.enrollment(key) else {
                    throw IssuanceUnavailable("enrollment \(request.transactionID) vanished while Intune was being notified")
                }
                return try await decision(for: recorded)
            }
            logger.error(
                "Intune successNotification failed: certificate revoked, not delivered",
                metadata: ["profile": "\(request.profile)", "serial": "\(record.serialNumber)", "error": "\(error)"])
            await approval.reportFailure(of: request, Refusal(.notificationFailed, "successNotification could not be delivered; certificate revoked"), logger: logger)
            return .rejected(Refusal(.notificationFailed, reason))
        }
    }

    /// A transaction recorded as `notifying` (its control plane stopped
    /// before Intune acknowledged): the device's retransmission finishes it.
    func resumeNotification(_ request: EnrollmentRequest, recorded: EnrollmentRecord) async throws -> EnrollmentDecision {
        guard let profile = configuration.profiles[recorded.profile], let client = intune[recorded.profile],
            let serial = recorded.serialNumber, let record = try await store.certificate(serialNumber: serial)
        else {
            throw IssuanceUnavailable("enrollment \(recorded.transactionID) awaits Intune's acknowledgement but its profile, client or certificate is missing")
        }
        let issued = IssuedCertificate(certificate: record.der, chain: configuration.chain(of: record, in: profile), serialNumber: serial)
        let approval = IntuneApproval(client: client, validated: "Intune validateRequest Success (recorded: \(recorded.reason))")
        return try await deliver(issued, record: record, request: request, key: recorded.key, approval: approval, profile: profile)
    }
}
