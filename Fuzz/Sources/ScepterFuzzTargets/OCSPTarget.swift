import Foundation
import ScepterProtocol

/// An OCSP request as the control plane's responder reads it:
/// `OCSP.Request` (questions, serials, the nonce), the issuer match against
/// the fixtures' CA, and a signed response echoing the nonce; the input is
/// also read as an RFC 5019 GET's path tail (`OCSP.requestDER(getPath:)`),
/// and what that decodes to is answered the same way.
enum OCSPTarget {
    static func run(_ bytes: [UInt8]) {
        answer(bytes)
        if let der = OCSP.requestDER(getPath: String(decoding: bytes, as: UTF8.self)) {
            // What the responder's own encoding makes of the request must decode back to it.
            guard OCSP.requestDER(getPath: Base64.encode(der)) == der else {
                fatalError("OCSP.requestDER(getPath: Base64.encode(x)) != x for \(der.count) bytes")
            }
            answer(der)
        }
    }

    static func answer(_ bytes: [UInt8]) {
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
