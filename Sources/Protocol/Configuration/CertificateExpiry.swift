import Foundation
import SwiftASN1
import X509

/// When the certificates a role depends on stop being valid: RA
/// certificates on the edges; issuing CA certificates, Entra client
/// certificates and TLS listener certificates on the control plane (the
/// last on the edges too).
///
/// An expired RA certificate is the classic SCEP outage: the server keeps
/// answering, and every device rejects the CertRep it signed. Roles refuse
/// to start with an expired RA or Entra client certificate (a configuration
/// problem), publish each notAfter as a gauge for alerting, and warn in the
/// log at start within `warningWindow`.
package enum CertificateExpiry {
    /// How long before its notAfter a certificate is warned about at start.
    package static let warningWindow: TimeInterval = 30 * 86400

    /// The validity of the DER certificate `der`; nil when it does not parse.
    package static func validity(of der: [UInt8]) -> ClosedRange<Date>? {
        guard let certificate = try? Certificate(derEncoded: der), certificate.notValidBefore <= certificate.notValidAfter else { return nil }
        return certificate.notValidBefore...certificate.notValidAfter
    }

    /// Why a certificate with `validity` cannot sign now, or nil.
    package static func refusal(_ validity: ClosedRange<Date>, now: Date) -> String? {
        if now > validity.upperBound { return "expired on \(stamp(validity.upperBound))" }
        if now < validity.lowerBound { return "is not valid before \(stamp(validity.lowerBound))" }
        return nil
    }

    /// A warning for the log when `notAfter` is within `warningWindow` of
    /// `now` (or past); nil otherwise. `what` names the certificate.
    package static func warning(_ what: String, notAfter: Date, now: Date) -> String? {
        let left = notAfter.timeIntervalSince(now)
        guard left < warningWindow else { return nil }
        guard left > 0 else { return "\(what) expired on \(stamp(notAfter))" }
        return "\(what) expires on \(stamp(notAfter)), in \(Int(left / 86400)) days: renew it before then"
    }

    package static func stamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension RAIdentity {
    /// When the first of the RA's certificates (signing, encryption) expires.
    public var notAfter: Date? {
        [signing.certificate, encryption.certificate].compactMap { CertificateExpiry.validity(of: $0)?.upperBound }.min()
    }
}
