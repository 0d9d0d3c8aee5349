import SwiftASN1
import X509
import ScepterProtocol

/// What a profile allows into a certificate (SPEC §9 `CERT_VALIDITY`,
/// `MAX_VALIDITY`, `ALLOWED_EKUS`, `MIN_RSA_BITS`).
package struct CertificateProfile: Sendable {
    /// Validity of issued certificates (default 365 days).
    package var validity: Duration
    /// Upper bound on validity; nil: only the CA's own notAfter caps it.
    package var maxValidity: Duration?
    /// EKUs a request may ask for; a request asking none gets all of them.
    package var allowedEKUs: [ExtendedKeyUsage.Usage]
    /// Smallest RSA key accepted (default 2048).
    package var minRSABits: Int
    /// `KEY_USAGE`: the key usages to issue, of those the device's key type can
    /// have; nil: digitalSignature, and keyEncipherment for an RSA key.
    package var keyUsage: Set<KeyUsageBit>?

    package init(
        validity: Duration = .seconds(365 * 86400), maxValidity: Duration? = nil,
        allowedEKUs: [ExtendedKeyUsage.Usage] = [.clientAuth], minRSABits: Int = 2048, keyUsage: Set<KeyUsageBit>? = nil
    ) {
        self.validity = validity
        self.maxValidity = maxValidity
        self.allowedEKUs = allowedEKUs
        self.minRSABits = minRSABits
        self.keyUsage = keyUsage
    }

    /// A key usage an issued certificate may carry (RFC 5280 §4.2.1.3), as `KEY_USAGE` names it.
    package enum KeyUsageBit: String, CaseIterable, Sendable, Hashable {
        case digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement

        /// Whether a key of this kind can do it: encipherment needs RSA, key agreement an EC key.
        func fits(rsa: Bool) -> Bool {
            switch self {
            case .digitalSignature, .nonRepudiation: true
            case .keyEncipherment, .dataEncipherment: rsa
            case .keyAgreement: !rsa
            }
        }

        /// A name as `KEY_USAGE` takes it, case-insensitive; `contentCommitment` is RFC 5280's later name of nonRepudiation.
        package init?(named name: String) {
            let lowered = name.lowercased()
            if lowered == "contentcommitment" {
                self = .nonRepudiation
                return
            }
            guard let bit = Self.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else { return nil }
            self = bit
        }
    }

    /// The key usage extension's value for a device key of this kind.
    func keyUsageExtension(rsa: Bool) throws(Refusal) -> KeyUsage {
        let bits = keyUsage.map { $0.filter { $0.fits(rsa: rsa) } } ?? (rsa ? [.digitalSignature, .keyEncipherment] : [.digitalSignature])
        guard !bits.isEmpty else {
            let listed = KeyUsageBit.allCases.filter { keyUsage?.contains($0) == true }.map(\.rawValue).joined(separator: ",")
            throw Refusal(.policyViolation, "the profile's KEY_USAGE (\(listed)) has nothing an \(rsa ? "RSA" : "EC") key can do")
        }
        return KeyUsage(
            digitalSignature: bits.contains(.digitalSignature), nonRepudiation: bits.contains(.nonRepudiation),
            keyEncipherment: bits.contains(.keyEncipherment), dataEncipherment: bits.contains(.dataEncipherment),
            keyAgreement: bits.contains(.keyAgreement))
    }

    /// Parses an EKU by name (`clientAuth`, `serverAuth`, `codeSigning`,
    /// `emailProtection`, `timeStamping`, `ocspSigning`, `any`) or dotted OID.
    package static func extendedKeyUsage(named name: String) -> ExtendedKeyUsage.Usage? {
        switch name.lowercased() {
        case "clientauth": return .clientAuth
        case "serverauth": return .serverAuth
        case "codesigning": return .codeSigning
        case "emailprotection": return .emailProtection
        case "timestamping": return .timeStamping
        case "ocspsigning": return .ocspSigning
        case "any", "anyextendedkeyusage": return .any
        default:
            guard let oid = try? ASN1ObjectIdentifier(dotRepresentation: name) else { return nil }
            return ExtendedKeyUsage.Usage(oid: oid)
        }
    }

    /// Checks the request against the profile; returns the EKUs to issue.
    func check(_ request: CertificationRequest) throws(Refusal) -> [ExtendedKeyUsage.Usage] {
        switch request.key {
        case .rsa(let bits) where bits < minRSABits:
            throw Refusal(.policyViolation, "RSA key of \(bits) bits is below the profile's minimum of \(minRSABits)")
        case .rsa, .ecdsa:
            break
        case .ed25519, .other:
            throw Refusal(.policyViolation, "key type \(request.key) is not issued; use RSA or ECDSA")
        }
        guard !request.subject.isEmpty || !request.subjectAlternativeNames.isEmpty else {
            throw Refusal(.policyViolation, "the request has neither a subject nor subject alternative names")
        }
        let requested = (try? request.requestedExtensions?.extendedKeyUsage).flatMap { $0 }.map { Array($0) } ?? []
        guard !requested.isEmpty else { return allowedEKUs }
        let refused = requested.filter { !allowedEKUs.contains($0) }
        guard refused.isEmpty else {
            let names = refused.map { "\($0)" }.joined(separator: ", ")
            throw Refusal(.policyViolation, "requested extended key usage \(names) is not in the profile's ALLOWED_EKUS")
        }
        return requested
    }
}
