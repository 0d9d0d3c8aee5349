import Crypto
import X509
import _CryptoExtras

extension IntuneChallenge {
    /// The JWS algorithms a Connector signs with.
    enum Algorithm: String, Sendable, CaseIterable {
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        case rs256 = "RS256"
        /// ECDSA with P-256 and SHA-256.
        case es256 = "ES256"
    }

    /// Verifies the signature over ``signingInput`` against the anchors (SPEC §5.1 gate 2).
    ///
    /// Passes when at least one anchor whose key type matches `alg` verifies
    /// it. Refuses `signature_invalid` for a bad signature, for `crit`, and
    /// for any `alg` other than RS256 and ES256 (none, HS*, missing, unknown):
    /// the anchors are certificates, so an HMAC or unsigned challenge can
    /// only be a forgery or a downgrade.
    package func verifySignature(against anchors: TrustAnchors) throws(Refusal) {
        // RFC 7515 §4.1.11: a verifier must refuse extensions it does not understand.
        guard !header.hasCriticalExtensions else {
            throw Refusal(.signatureInvalid, "JOSE header has crit; no critical extension is supported")
        }
        let algorithm = try Self.acceptedAlgorithm(header.algorithm)
        let digest = SHA256.hash(data: signingInput)

        switch algorithm {
        case .rs256:
            let keys = anchors.anchors.compactMap { _RSA.Signing.PublicKey($0.certificate.publicKey) }
            guard !keys.isEmpty else {
                throw Refusal(.signatureInvalid, "alg is RS256 but no trust anchor has an RSA key")
            }
            let candidate = _RSA.Signing.RSASignature(rawRepresentation: signature)
            guard keys.contains(where: { $0.isValidSignature(candidate, for: digest, padding: .insecurePKCS1v1_5) })
            else {
                throw Refusal(
                    .signatureInvalid,
                    "RS256 signature does not verify against any of the \(keys.count) RSA trust anchor(s)"
                )
            }

        case .es256:
            let keys = anchors.anchors.compactMap { P256.Signing.PublicKey($0.certificate.publicKey) }
            guard !keys.isEmpty else {
                throw Refusal(.signatureInvalid, "alg is ES256 but no trust anchor has a P-256 key")
            }
            let candidates = Self.ecdsaCandidates(signature)
            guard !candidates.isEmpty else {
                throw Refusal(
                    .signatureInvalid,
                    "ES256 signature of \(signature.count) bytes is neither 64-byte r||s nor DER"
                )
            }
            guard keys.contains(where: { key in candidates.contains { key.isValidSignature($0, for: digest) } })
            else {
                throw Refusal(
                    .signatureInvalid,
                    "ES256 signature does not verify against any of the \(keys.count) P-256 trust anchor(s)"
                )
            }
        }
    }

    private static func acceptedAlgorithm(_ name: String?) throws(Refusal) -> Algorithm {
        guard let name else {
            throw Refusal(.signatureInvalid, "JOSE header has no alg")
        }
        if let algorithm = Algorithm(rawValue: name) {
            return algorithm
        }
        if name == "none" {
            throw Refusal(.signatureInvalid, "alg none (an unsigned challenge) is refused")
        }
        if name.hasPrefix("HS") {
            throw Refusal(
                .signatureInvalid,
                "HMAC alg \(name.quotedForReason(limit: 16)) is refused; Connectors sign with a certificate key"
            )
        }
        throw Refusal(.signatureInvalid, "alg \(name.quotedForReason(limit: 32)) is not supported; use RS256 or ES256")
    }

    /// The signature read both ways JWS producers write ECDSA: JOSE's raw r||s, and DER.
    ///
    /// Both readings are kept when both parse, since a 64-byte DER signature
    /// is possible.
    private static func ecdsaCandidates(_ bytes: [UInt8]) -> [P256.Signing.ECDSASignature] {
        var candidates: [P256.Signing.ECDSASignature] = []
        if bytes.count == 64, let raw = try? P256.Signing.ECDSASignature(rawRepresentation: bytes) {
            candidates.append(raw)
        }
        if let der = try? P256.Signing.ECDSASignature(derRepresentation: bytes) {
            candidates.append(der)
        }
        return candidates
    }
}
