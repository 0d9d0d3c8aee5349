import Foundation
import ScepterProtocol

/// An OCSP request as the control plane's responder reads it:
/// `OCSP.Request` (questions, serials, the nonce), the issuer match against
/// the fixtures' CA, and a signed response echoing the nonce.
enum OCSPTarget {
    static func run(_ bytes: [UInt8]) {
        guard let request = try? OCSP.Request(der: bytes) else { return }
        _ = request.isFor(FuzzFixtures.ocspIssuer)
        let statuses: [OCSP.CertStatus] = request.questions.indices.map { index in
            switch index % 3 {
            case 0: .good
            case 1: .revoked(at: FuzzFixtures.now - 3600, reason: 1)
            default: .unknown
            }
        }
        _ = try? OCSP.response(
            answering: request, statuses: statuses, signer: FuzzFixtures.ocspSigner, thisUpdate: FuzzFixtures.now,
            nextUpdate: FuzzFixtures.now + 3600)
    }
}
