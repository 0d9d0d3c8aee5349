import Foundation
import X509

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
