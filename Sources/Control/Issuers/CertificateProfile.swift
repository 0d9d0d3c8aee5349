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

    package init(
        validity: Duration = .seconds(365 * 86400), maxValidity: Duration? = nil,
        allowedEKUs: [ExtendedKeyUsage.Usage] = [.clientAuth], minRSABits: Int = 2048
    ) {
        self.validity = validity
        self.maxValidity = maxValidity
        self.allowedEKUs = allowedEKUs
        self.minRSABits = minRSABits
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
