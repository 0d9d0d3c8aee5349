import SwiftASN1
import X509
import Crypto
import _CryptoExtras

/// A PKCS#10 certification request as Scepter reads it: the parsed request
/// plus the fields the gates and the issuer need.
public struct CertificationRequest: Sendable {
    /// The DER the device sent.
    public let derEncoded: [UInt8]
    /// The full parsed request, for the issuer.
    public let request: CertificateSigningRequest
    public let challengePassword: String?
    public let subjectAlternativeNames: SubjectAlternativeNames
    public let key: KeyDescription

    /// The names a certificate can carry in its SubjectAltName extension.
    public struct SubjectAlternativeNames: Sendable, Hashable, Codable {
        public var dnsNames: [String] = []
        public var rfc822Names: [String] = []
        /// Microsoft UPN otherNames (1.3.6.1.4.1.311.20.2.3).
        public var userPrincipalNames: [String] = []
        /// URIs, including Intune's `tag:microsoft.com,2022-09-14:sid:` SID URI.
        public var uris: [String] = []
        /// IP addresses in their textual form.
        public var ipAddresses: [String] = []
        /// Every other name (directoryName, otherNames but UPN, registeredID, …), described.
        public var others: [String] = []

        public init() {}

        public var isEmpty: Bool {
            dnsNames.isEmpty && rfc822Names.isEmpty && userPrincipalNames.isEmpty && uris.isEmpty && ipAddresses.isEmpty && others.isEmpty
        }

        /// A one-line summary for logs and the audit record, e.g. `DNS:a.example,URI:tag:…`.
        public var summary: String {
            (dnsNames.map { "DNS:\($0)" } + rfc822Names.map { "email:\($0)" }
                + userPrincipalNames.map { "UPN:\($0)" } + uris.map { "URI:\($0)" } + ipAddresses.map { "IP:\($0)" } + others)
                .joined(separator: ",")
        }
    }

    /// The requested key's algorithm and strength.
    public enum KeyDescription: Sendable, Hashable, CustomStringConvertible {
        case rsa(bits: Int)
        case ecdsa(curve: String)
        case ed25519
        case other

        public var description: String {
            switch self {
            case .rsa(let bits): "RSA-\(bits)"
            case .ecdsa(let curve): "ECDSA-\(curve)"
            case .ed25519: "Ed25519"
            case .other: "unknown key type"
            }
        }
    }

    /// The smallest RSA key Scepter reads at all; profiles may ask for more.
    public static let minimumRSABits = 2048

    public static let upnOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3]
    static let challengePasswordOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 7]

    /// Parses and verifies the self-signature. The refusal's label is
    /// `bad_message_check` for a signature that does not verify and
    /// `policy_violation` for bytes that are not a PKCS#10 request.
    ///
    /// `selfSignatureVerified`: the caller already verified these exact bytes
    /// (the control plane, behind an edge that did), so OpenSSL is skipped.
    public init(derEncoded der: [UInt8], selfSignatureVerified: Bool = false) throws(Refusal) {
        let request: CertificateSigningRequest
        // Signed with an algorithm swift-certificates does not parse (PSS, SHA-224): read through a stand-in copy.
        var readThroughStandIn = false
        do {
            request = try CertificateSigningRequest(derEncoded: try CanonicalDER.parseSortingSets(der))
        } catch {
            if let copy = CSRStandInAlgorithm.readableCopy(of: der),
                let readable = try? CertificateSigningRequest(derEncoded: try CanonicalDER.parseSortingSets(copy))
            {
                request = readable
                readThroughStandIn = true
            } else {
                // OpenSSL reads what swift-certificates will not (weak keys) and names the problem.
                if !selfSignatureVerified { try Self.verifySelfSignature(der) }
                throw Refusal(.policyViolation, "the envelope does not hold a PKCS#10 request Scepter can read (\(error))")
            }
        }
        if !selfSignatureVerified {
            switch readThroughStandIn ? .unsupported : CSRSelfSignature.verify(der, request: request) {
            case .valid: break
            case .invalid: throw Refusal(.badMessageCheck, "the PKCS#10 self-signature does not verify")
            case .unsupported: try Self.verifySelfSignature(der)
            }
        }
        self.derEncoded = der
        self.request = request
        self.challengePassword = Self.readChallengePassword(request.attributes)

        var names = SubjectAlternativeNames()
        if let extensions = try? request.attributes.extensionRequest?.extensions,
            let sans = try? extensions.subjectAlternativeNames
        {
            for name in sans {
                switch name {
                case .dnsName(let value): names.dnsNames.append(value)
                case .rfc822Name(let value): names.rfc822Names.append(value)
                case .uniformResourceIdentifier(let value): names.uris.append(value)
                case .ipAddress(let octets): names.ipAddresses.append(Self.formatIP(Array(octets.bytes)))
                case .otherName(let other) where other.typeID == Self.upnOID:
                    if let value = other.value, let upn = try? ASN1UTF8String(asn1Any: value) {
                        names.userPrincipalNames.append(String(upn))
                    } else {
                        names.others.append("otherName:\(other.typeID) (not a UTF8String UPN)")
                    }
                case .otherName(let other): names.others.append("otherName:\(other.typeID)")
                case .directoryName(let name): names.others.append("dirName:\(name)")
                case .registeredID(let oid): names.others.append("registeredID:\(oid)")
                case .x400Address: names.others.append("x400Address")
                case .ediPartyName: names.others.append("ediPartyName")
                }
            }
        }
        self.subjectAlternativeNames = names
        self.key = Self.describe(request.publicKey)
    }

    /// OpenSSL, on the bytes as sent (a re-encoded copy would not match the
    /// signature): for algorithms the swift-crypto path does not cover, and to
    /// name weak keys that swift-certificates refuses to parse at all.
    private static func verifySelfSignature(_ der: [UInt8]) throws(Refusal) {
        switch CSRSignature.verify(der) {
        case .unparseable(let problem):
            throw Refusal(.policyViolation, "the envelope does not hold a parseable PKCS#10 request (\(problem))")
        case .invalid(let problem):
            throw Refusal(.badMessageCheck, "the PKCS#10 self-signature does not verify (\(problem))")
        case .valid(let rsaBits):
            if let rsaBits, rsaBits < minimumRSABits {
                throw Refusal(.policyViolation, "RSA key of \(rsaBits) bits is below the minimum of \(minimumRSABits)")
            }
        }
    }

    public var subject: DistinguishedName { request.subject }

    /// The first common name of the subject, if any.
    public var commonName: String? { commonNames.first }

    /// Every common name of the subject, in order.
    public var commonNames: [String] {
        request.subject.flatMap { rdn in
            rdn.filter { $0.type == .RDNAttributeType.commonName }.map { String($0.value) ?? $0.value.description }
        }
    }

    /// The extensions the requester asked for (nil when none).
    public var requestedExtensions: Certificate.Extensions? {
        try? request.attributes.extensionRequest?.extensions
    }

    private static func readChallengePassword(_ attributes: CertificateSigningRequest.Attributes) -> String? {
        guard let attribute = attributes[oid: challengePasswordOID], let value = attribute.values.first else {
            return nil
        }
        // The value's tag says which of the three string types it is. Trying
        // each in turn would throw (and format an error) for every challenge
        // that is not the first type tried: Intune's are UTF8String.
        do {
            var serializer = DER.Serializer()
            try serializer.serialize(value)
            let node = try DER.parse(serializer.serializedBytes)
            switch node.identifier {
            case ASN1PrintableString.defaultIdentifier: return String(try ASN1PrintableString(derEncoded: node))
            case ASN1UTF8String.defaultIdentifier: return String(try ASN1UTF8String(derEncoded: node))
            case ASN1IA5String.defaultIdentifier: return String(try ASN1IA5String(derEncoded: node))
            default: return nil
            }
        } catch {
            return nil
        }
    }

    private static func describe(_ key: Certificate.PublicKey) -> KeyDescription {
        if let rsa = _RSA.Signing.PublicKey(key) { return .rsa(bits: rsa.keySizeInBits) }
        if P256.Signing.PublicKey(key) != nil { return .ecdsa(curve: "P-256") }
        if P384.Signing.PublicKey(key) != nil { return .ecdsa(curve: "P-384") }
        if P521.Signing.PublicKey(key) != nil { return .ecdsa(curve: "P-521") }
        if Curve25519.Signing.PublicKey(key) != nil { return .ed25519 }
        return .other
    }

    static func formatIP(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        if bytes.count == 16 {
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return bytes.map { String($0, radix: 16) }.joined()
    }
}
