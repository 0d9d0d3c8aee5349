/// The one label every SCEP request ends with (SPEC §6).
///
/// The label is what the audit log, the metrics and the console show; the
/// CertRep's `pkiStatus`/`failInfo` are derived from it.
public enum Outcome: String, Sendable, Codable, CaseIterable, Hashable {
    case success
    case pending
    case malformed
    case signatureInvalid = "signature_invalid"
    case unknownVersion = "unknown_version"
    case expired
    case notYetValid = "not_yet_valid"
    case wrongAudience = "wrong_audience"
    case claimMismatch = "claim_mismatch"
    case replay
    case rateLimited = "rate_limited"
    case complianceFailed = "compliance_failed"
    case intuneRejected = "intune_rejected"
    /// Intune said Success, but its successNotification could not be
    /// delivered: the certificate was revoked and never handed out.
    case notificationFailed = "notification_failed"
    case challengeInvalid = "challenge_invalid"
    case badMessageCheck = "bad_message_check"
    case unsupportedAlgorithm = "unsupported_algorithm"
    case policyViolation = "policy_violation"
    case renewalInvalid = "renewal_invalid"
    case unknownTransaction = "unknown_transaction"
    case issuerError = "issuer_error"
    case unavailable

    /// The SCEP failInfo a FAILURE CertRep carries for this outcome; nil for
    /// outcomes that are not failures answered with a CertRep.
    public var failInfo: FailInfo? {
        switch self {
        case .success, .pending, .unavailable:
            return nil
        case .signatureInvalid, .badMessageCheck, .renewalInvalid:
            return .badMessageCheck
        case .expired, .notYetValid:
            return .badTime
        case .unsupportedAlgorithm:
            return .badAlg
        case .unknownTransaction:
            return .badCertID
        case .malformed, .unknownVersion, .wrongAudience, .claimMismatch, .replay, .rateLimited,
            .complianceFailed, .intuneRejected, .notificationFailed, .challengeInvalid, .policyViolation, .issuerError:
            return .badRequest
        }
    }
}

/// SCEP failInfo values (RFC 8894 §3.2.1.4.5).
public enum FailInfo: Int, Sendable, Codable, CaseIterable {
    case badAlg = 0
    case badMessageCheck = 1
    case badRequest = 2
    case badTime = 3
    case badCertID = 4

    /// The name used in logs and by common clients.
    public var name: String {
        switch self {
        case .badAlg: "badAlg"
        case .badMessageCheck: "badMessageCheck"
        case .badRequest: "badRequest"
        case .badTime: "badTime"
        case .badCertID: "badCertId"
        }
    }
}

/// A refusal: the outcome label plus the precise reason for the operator.
///
/// The reason goes to the log and the audit record, never to the SCEP client.
public struct Refusal: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var outcome: Outcome
    public var reason: String

    public init(_ outcome: Outcome, _ reason: String) {
        self.outcome = outcome
        self.reason = reason
    }

    public var description: String { "\(outcome.rawValue): \(reason)" }
}
