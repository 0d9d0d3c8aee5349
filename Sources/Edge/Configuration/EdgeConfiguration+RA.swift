import Foundation
import SwiftASN1
import X509
import ScepterProtocol

extension EdgeConfiguration {
    /// A profile's RA: the pair of `RA_CERT_PATH` and `RA_KEY_PATH` (in
    /// `scepter dev`, the development RA when both are unset), and, when
    /// `RA_ENCRYPTION_CERT_PATH` and `RA_ENCRYPTION_KEY_PATH` are set, a
    /// second pair that devices encrypt to while the first signs CertReps,
    /// as NDES's two RA certificates do. Problems name the variable.
    static func loadRA(prefix: String, _ settings: inout Settings, fallback: RAIdentity?) -> RAIdentity? {
        let encryptionSet = settings.string(prefix + "RA_ENCRYPTION_CERT_PATH") != nil || settings.string(prefix + "RA_ENCRYPTION_KEY_PATH") != nil
        let signing: RAIdentity.Pair?
        if settings.string(prefix + "RA_CERT_PATH") == nil, settings.string(prefix + "RA_KEY_PATH") == nil, let fallback {
            signing = fallback.signing
        } else {
            signing = loadPair(prefix: prefix, .signing, &settings, split: encryptionSet)
        }
        guard encryptionSet else { return signing.map { RAIdentity($0) } }
        let encryption = loadPair(prefix: prefix, .encryption, &settings, split: true)
        guard let signing, let encryption else { return nil }
        return RAIdentity(encryption: encryption, signing: signing)
    }

    /// The two certificates of a split RA, and the variables naming them.
    enum RARole {
        /// Signs CertReps (`RA_CERT_PATH`); alone, it also decrypts.
        case signing
        /// Decrypts pkcsPKIEnvelopes (`RA_ENCRYPTION_CERT_PATH`).
        case encryption

        var certificateVariable: String { self == .signing ? "RA_CERT_PATH" : "RA_ENCRYPTION_CERT_PATH" }
        var keyVariable: String { self == .signing ? "RA_KEY_PATH" : "RA_ENCRYPTION_KEY_PATH" }
        var name: String { self == .signing ? "RA certificate" : "RA encryption certificate" }
        var expiredEffect: String {
            self == .signing ? "devices reject every CertRep it signs" : "devices refuse to encrypt their requests to it"
        }
    }

    /// One RA pair, checked: it loads, the key is RSA of 2048 bits or more,
    /// the certificate is valid now, and, in a split RA, its keyUsage (when
    /// it has one) allows what it is for: clients choose the certificate to
    /// encrypt to by keyEncipherment, and verify CertReps against
    /// digitalSignature.
    private static func loadPair(prefix: String, _ role: RARole, _ settings: inout Settings, split: Bool) -> RAIdentity.Pair? {
        let certificateVariable = prefix + role.certificateVariable
        let certificatePath = settings.string(certificateVariable)
        let keyPath = settings.string(prefix + role.keyVariable)
        guard let certificatePath, let keyPath else {
            let missing = certificatePath == nil ? role.certificateVariable : role.keyVariable
            let other = certificatePath == nil ? role.keyVariable : role.certificateVariable
            let why =
                role == .signing
                ? "is required (the profile's RA certificate and its private key)"
                : "is required with \(prefix)\(other) (the RA certificate devices encrypt to, and its private key)"
            settings.problem(prefix + missing, why)
            return nil
        }
        let pair: RAIdentity.Pair
        do {
            let certificate = try SecretFiles.readPublic(at: certificatePath, setting: certificateVariable)
            let key = try SecretFiles.readSecret(at: keyPath, setting: prefix + role.keyVariable)
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
        if let validity = CertificateExpiry.validity(of: pair.certificate), let refusal = CertificateExpiry.refusal(validity, now: Date()) {
            settings.problem(
                certificateVariable,
                "\(role.name) \(certificatePath) \(refusal): \(role.expiredEffect); issue a new one (docs/ca.md)")
            return nil
        }
        if split, let problem = keyUsageProblem(pair.certificate, role) {
            settings.problem(certificateVariable, "\(role.name) \(certificatePath) \(problem)")
            return nil
        }
        return pair
    }

    /// Why a split RA's certificate cannot do its part, from its keyUsage;
    /// nil without a keyUsage (which allows everything) or when it can.
    static func keyUsageProblem(_ der: [UInt8], _ role: RARole) -> String? {
        guard let certificate = try? Certificate(derEncoded: der), let usage = try? certificate.extensions.keyUsage else { return nil }
        switch role {
        case .signing where !usage.digitalSignature:
            return "has a keyUsage without digitalSignature: it signs the CertReps, and clients check that bit"
        case .encryption where !usage.keyEncipherment:
            return "has a keyUsage without keyEncipherment: clients choose the certificate they encrypt to by that bit"
        default:
            return nil
        }
    }
}
