import Foundation
import ScepterProtocol

/// A CSR's challengePassword as the challenge gate reads it: the shape test
/// (gate 1), then `IntuneValidator.validate` (JWS split, base64url, the JOSE
/// header's JSON, RS256/ES256 against the fixed anchors, and past them the
/// claims and gates 4–6); and, for an `intune-api` profile, the opaque
/// challenge's shape check and replay key.
enum IntuneChallengeTarget {
    static func run(_ bytes: [UInt8]) {
        let challenge = String(decoding: bytes, as: UTF8.self)
        if IntuneChallenge.looksSigned(challenge) || bytes.count < 256 {
            switch FuzzFixtures.validator.validate(challenge, csr: FuzzFixtures.identity, now: FuzzFixtures.now) {
            case .success(let claim): _ = claim.replayKey(challenge: challenge)
            case .failure(let refusal): _ = refusal.reason.count
            }
        }
        if OpaqueChallenge.shapeRefusal(challenge) == nil {
            _ = OpaqueChallenge.replayKey(challenge)
        }
    }

    /// Challenges that pass every gate (ES256 raw and DER, RS256, padded),
    /// and an opaque one.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let claims = IntuneClaimTarget.seedClaims
        var seeds: [(name: String, bytes: [UInt8])] = [
            ("es256.jws", IntuneClaimTarget.mint(payload: claims, algorithm: .es256)),
            ("es256-der.jws", IntuneClaimTarget.mint(payload: claims, algorithm: .es256DER)),
            ("rs256.jws", IntuneClaimTarget.mint(payload: claims, algorithm: .rs256)),
            ("es256-padded.jws", IntuneClaimTarget.mint(payload: claims, algorithm: .es256, padded: true)),
        ].map { (name: $0.0, bytes: Array($0.1.utf8)) }
        seeds.append((name: "opaque.txt", bytes: Array(String(repeating: "QmFzZTY0T3BhcXVlSW50dW5lQ2hhbGxlbmdl", count: 12).utf8)))
        return seeds
    }
}
