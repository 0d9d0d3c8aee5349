import Foundation
import X509

extension CertificationRequest {
    /// Why this request cannot renew `certificate`, or nil when it can: a
    /// renewal asks for the subject the certificate has, exactly, and no
    /// name it does not have (dropping names is allowed). The one statement
    /// of the rule, for the edge's and the control plane's checks.
    package func renewalProblem(renewing certificate: Certificate) -> String? {
        let serial = certificate.serialNumber.hexString
        guard subject == certificate.subject else {
            return "renewal asks for subject \(subject), but certificate \(serial) is for \(certificate.subject)"
        }
        let held = Set(((try? certificate.extensions.subjectAlternativeNames) ?? nil).map { Array($0) } ?? [])
        let requested = ((try? requestedExtensions?.subjectAlternativeNames) ?? nil).map { Array($0) } ?? []
        let added = requested.filter { !held.contains($0) }
        guard added.isEmpty else {
            return "renewal adds names certificate \(serial) does not have: \(added.map { "\($0)" }.joined(separator: ", "))"
        }
        return nil
    }
}

extension Certificate {
    /// Why this CA certificate does not vouch for `candidate` at `now`, or
    /// nil when it does: the candidate names it as issuer, carries its
    /// signature, and is within its validity period. `caName` names the CA
    /// in the reason.
    package func problemVouching(for candidate: Certificate, now: Date, caName: String) -> String? {
        guard candidate.issuer == subject else { return "issuer is \(candidate.issuer), not \(subject)" }
        guard publicKey.isValidSignature(candidate.signature, for: candidate) else { return "signature is not by CA \(caName)" }
        guard candidate.notValidBefore <= now, now < candidate.notValidAfter else {
            return "outside its validity (\(candidate.notValidBefore) – \(candidate.notValidAfter))"
        }
        return nil
    }
}
