import Foundation
import ScepterProtocol

extension EdgeConfiguration {
    /// A profile's RA: the pair of `RA_CERT_PATH` and `RA_KEY_PATH` (in
    /// `scepter dev`, the development RA when both are unset), and, when
    /// `RA_ENCRYPTION_CERT_PATH` and `RA_ENCRYPTION_KEY_PATH` are set, a
    /// second pair that devices encrypt to while the first signs CertReps,
    /// as NDES's two RA certificates do. Problems name the variable.
    static func loadRA(prefix: String, _ settings: inout Settings, fallback: RAIdentity?, now: Date) -> RAIdentity? {
        let signingPaths = (settings.string(prefix + "RA_CERT_PATH"), settings.string(prefix + "RA_KEY_PATH"))
        let encryptionPaths = (settings.string(prefix + "RA_ENCRYPTION_CERT_PATH"), settings.string(prefix + "RA_ENCRYPTION_KEY_PATH"))
        let split = encryptionPaths != (nil, nil)
        let signing: RAIdentity.Pair?
        if signingPaths == (nil, nil), let fallback {
            guard split else { return fallback }
            signing = fallback.signing
        } else {
            signing = loadPair(prefix: prefix, .signing, paths: signingPaths, &settings, split: split, now: now)
        }
        guard split else { return signing.map { RAIdentity($0) } }
        let encryption = loadPair(prefix: prefix, .encryption, paths: encryptionPaths, &settings, split: true, now: now)
        guard let signing, let encryption else { return nil }
        return RAIdentity(encryption: encryption, signing: signing)
    }

    /// One RA pair, checked: it loads, the key is RSA of 2048 bits or more,
    /// the certificate is valid `now`, and, in a split RA, its keyUsage (when
    /// it has one) allows its part: clients choose the certificate to
    /// encrypt to by keyEncipherment, and verify CertReps against
    /// digitalSignature.
    private static func loadPair(
        prefix: String, _ role: RAIdentity.Role, paths: (String?, String?), _ settings: inout Settings, split: Bool, now: Date
    ) -> RAIdentity.Pair? {
        let (certificateVariable, keyVariable) = (prefix + role.certificateVariable, prefix + role.keyVariable)
        guard let certificatePath = paths.0, let keyPath = paths.1 else {
            let (missing, other) = paths.0 == nil ? (certificateVariable, keyVariable) : (keyVariable, certificateVariable)
            switch role {
            case .signing: settings.problem(missing, "is required (the profile's RA certificate and its private key)")
            case .encryption: settings.problem(missing, "is required with \(other) (the RA certificate devices encrypt to, and its private key)")
            }
            return nil
        }
        let pair: RAIdentity.Pair
        do {
            let certificate = try SecretFiles.readPublic(at: certificatePath, setting: certificateVariable)
            let key = try SecretFiles.readSecret(at: keyPath, setting: keyVariable)
            do {
                pair = try CertificateKeyPair(certificatePEM: certificate, keyPEM: key)
            } catch {
                settings.problem(certificateVariable, "\(role.name) pair \(certificatePath) + \(keyPath) refused: \(error.reason)")
                return nil
            }
        } catch {
            settings.problem(error.setting, error.message)
            return nil
        }
        if let validity = CertificateExpiry.validity(of: pair.certificate), let refusal = CertificateExpiry.refusal(validity, now: now) {
            settings.problem(certificateVariable, "\(role.name) \(certificatePath) \(refusal): \(role.expiredEffect); issue a new one (docs/ca.md)")
            return nil
        }
        if split, !role.allowed(by: pair.certificate) {
            settings.problem(certificateVariable, "\(role.name) \(certificatePath) \(role.missingKeyUsage)")
            return nil
        }
        return pair
    }
}

extension RAIdentity.Role {
    /// The variables of this part's certificate and key (after the profile's
    /// prefix), its name in problems, and what its problems mean.
    private var words: (certificate: String, key: String, name: String, expiredEffect: String, missingKeyUsage: String) {
        switch self {
        case .signing:
            ("RA_CERT_PATH", "RA_KEY_PATH", "RA certificate", "devices reject every CertRep it signs",
             "has a keyUsage without digitalSignature: it signs the CertReps, and clients check that bit; "
                + "use a signing certificate with it, as scepter ca ra --split writes ra.pem (docs/ca.md)")
        case .encryption:
            ("RA_ENCRYPTION_CERT_PATH", "RA_ENCRYPTION_KEY_PATH", "RA encryption certificate", "devices refuse to encrypt their requests to it",
             "has a keyUsage without keyEncipherment: clients choose the certificate they encrypt to by that bit; "
                + "use an encryption certificate with it, as scepter ca ra --split writes ra-encryption.pem (docs/ca.md)")
        }
    }

    var certificateVariable: String { words.certificate }
    var keyVariable: String { words.key }
    var name: String { words.name }
    var expiredEffect: String { words.expiredEffect }
    var missingKeyUsage: String { words.missingKeyUsage }
}
