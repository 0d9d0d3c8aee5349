import Crypto
import Foundation
import ScepterProtocol
import ScepterTesting
import _CryptoExtras

/// The claims of a signed challenge, past the signature: the input is the
/// JWS payload, signed here with the fixed Connector key, then validated
/// (claims JSON, version, time, audience and CSR binding gates), and read
/// alone by `IntuneClaim.parse`. Stands for a Connector that signs
/// whatever it is given.
enum IntuneClaimTarget {
    enum Algorithm { case es256, es256DER, rs256 }

    static func run(_ bytes: [UInt8]) {
        if case .success(let claim) = IntuneClaim.parse(verifiedPayload: bytes) {
            _ = (claim.subject.count, claim.deviceKey.storageKey.count)
        }
        let challenge = mint(payload: bytes, algorithm: .es256)
        switch FuzzFixtures.validator.validate(challenge, csr: FuzzFixtures.identity, now: FuzzFixtures.now) {
        case .success(let claim): _ = claim.replayKey(challenge: challenge)
        case .failure(let refusal): _ = refusal.reason.count
        }
    }

    static func mint(payload: [UInt8], algorithm: Algorithm, padded: Bool = false) -> String {
        let header = algorithm == .rs256 ? #"{"alg":"RS256","typ":"JWT"}"# : #"{"alg":"ES256","typ":"JWT"}"#
        let input = ChallengeMinter.base64url(Array(header.utf8), padded: padded) + "." + ChallengeMinter.base64url(payload, padded: padded)
        let digest = SHA256.hash(data: Array(input.utf8))
        let signature: [UInt8]
        do {
            switch algorithm {
            case .es256: signature = Array(try FuzzFixtures.connectorKey.signature(for: digest).rawRepresentation)
            case .es256DER: signature = Array(try FuzzFixtures.connectorKey.signature(for: digest).derRepresentation)
            case .rs256: signature = Array(try FuzzFixtures.rsaConnectorKey.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
            }
        } catch {
            fatalError("signing a fuzz challenge failed: \(error)")
        }
        return input + "." + ChallengeMinter.base64url(signature, padded: padded)
    }

    /// Claims that pass every gate at the fixed clock for ``FuzzFixtures/identity``.
    static let seedClaims: [UInt8] = {
        let now = FuzzFixtures.now.timeIntervalSince1970
        let claims: [String: Any] = [
            "iss": "https://connector.corp.example/tenant-0f0e", "sub": "7c1f6a1e-5b2d-4c8e-9a0b-1d2e3f405162",
            "aud": FuzzFixtures.audience, "iat": now - 60, "exp": now + 1_740, "nonce": "b5f7c1d2e3a4", "device_name": "LAPTOP-0042",
            "san_dns": ["laptop-0042.corp.example"], "san_rfc822": ["alice@corp.example"], "san_upn": ["alice@corp.example"],
        ]
        do { return try ChallengeMinter.json(claims) } catch { fatalError("fuzz claims: \(error)") }
    }()

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        var versioned = try JSONSerialization.jsonObject(with: Data(seedClaims)) as? [String: Any] ?? [:]
        versioned["version"] = "v1"
        versioned["aud"] = [FuzzFixtures.audience]
        return [("claims.json", seedClaims), ("claims-versioned.json", try ChallengeMinter.json(versioned))]
            .map { (name: $0.0, bytes: $0.1) }
    }
}
