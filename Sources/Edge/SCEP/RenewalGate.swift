import Foundation
import ScepterProtocol
import SwiftASN1
import X509

/// The per-certificate renewal limit (`SCEPTER_PROFILE_<NAME>_RENEWAL_LIMIT`):
/// a RenewalReq carries no challenge, so a stolen certificate and key could
/// otherwise renew forever and at any rate. Counted cluster-wide in the
/// state store, by the fingerprint of the certificate that signed the
/// request (the message's signature proves its key, so nobody else can spend
/// a certificate's renewals; a serial alone could be copied into a
/// self-signed certificate); a retransmission of the same request is not counted again. The control
/// plane then checks the certificate itself (issued here, unrevoked, same identity).
struct RenewalGate {
    let profile: EdgeConfiguration.Profile
    let state: any StateStore
    let now: Date

    /// nil: admitted. Throws only when the state store is unreachable.
    func check(signerCertificate: [UInt8], csr: CertificationRequest, transactionID: String) async throws -> Refusal? {
        guard profile.renewalLimit > 0 else { return nil }
        guard let signer = try? Certificate(derEncoded: signerCertificate) else {
            return Refusal(.renewalInvalid, "renewal signer certificate does not parse")
        }
        let serial = signer.serialNumber.hexString
        let use = Admission.use(profile: profile.name, transactionID: transactionID, csr: csr.derEncoded)
        let admission = Admission(
            replayKey: "renewal:" + SHA256Hex.of(use), use: use, replayTTL: .seconds(24 * 3600),
            deviceKey: "renewal|\(profile.name)|\(SHA256Hex.of(signerCertificate))", rateLimit: profile.renewalLimit, now: now)
        switch try await state.admit(admission) {
        case .admitted, .retransmission:
            return nil
        case .rateLimited:
            return Refusal(
                .rateLimited,
                "certificate \(serial) was already renewed \(profile.renewalLimit) times in 24 h (SCEPTER_PROFILE_\(Settings.variableName(profile.name))_RENEWAL_LIMIT)")
        case .replay:
            // The same request under another use cannot happen: the key is the use's own hash.
            return Refusal(.replay, "renewal request already used")
        }
    }
}
