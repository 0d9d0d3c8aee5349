import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
import ScepterProtocol

/// An issuer whose CA key is a local PEM file (`SCEPTER_ISSUER_<NAME>_TYPE=local`).
package struct LocalCA: Sendable {
    package let name: String
    package let certificate: Certificate
    /// DER of the CA certificate.
    package let certificateDER: [UInt8]
    /// DER of the intermediates above the CA, nearest first.
    package let chain: [[UInt8]]
    /// Signs through `signatureLibrary`.
    let privateKey: Certificate.PrivateKey
    /// The library that makes this CA's signatures: the faster of the two on this machine.
    package let signatureLibrary: SignatureLibrary
    /// What this CA's signatures are: SHA-256 with RSA, or ECDSA with the curve's hash.
    let signatureAlgorithm: Certificate.SignatureAlgorithm
    /// The key as loaded, for signers that go through OpenSSL (OCSP signed by the CA itself).
    let keyPEM: String
    let authorityKeyIdentifier: ArraySlice<UInt8>
    /// Source of serial-number bytes; the system CSPRNG unless a test injects one.
    let randomBytes: @Sendable (Int) -> [UInt8]

    package struct LoadError: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    package init(
        name: String, certificatePEM: String, keyPEM: String, chainPEM: String? = nil,
        randomBytes: @escaping @Sendable (Int) -> [UInt8] = SystemRandom.bytes
    ) throws(LoadError) {
        do {
            self.certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw LoadError(reason: "CA certificate does not parse (\(error))")
        }
        let loaded: Certificate.PrivateKey
        do {
            loaded = try Certificate.PrivateKey(pemEncoded: keyPEM)
        } catch {
            throw LoadError(reason: "CA private key does not parse (\(error))")
        }
        guard loaded.publicKey == certificate.publicKey else {
            throw LoadError(reason: "CA private key does not belong to the CA certificate")
        }
        signatureAlgorithm = Self.signatureAlgorithm(of: loaded)
        if let openSSL = try? OpenSSLSigningKey(privateKeyPEM: keyPEM) {
            let viaOpenSSL = Certificate.PrivateKey(OpenSSLCAKey(loaded: loaded, signer: openSSL, defaultSignatureAlgorithm: signatureAlgorithm))
            signatureLibrary = SignatureLibrary.faster(loaded, viaOpenSSL, algorithm: signatureAlgorithm)
            privateKey = signatureLibrary == .openSSL ? viaOpenSSL : loaded
        } else {
            signatureLibrary = .boringSSL
            privateKey = loaded
        }
        guard case .isCertificateAuthority = try? certificate.extensions.basicConstraints else {
            throw LoadError(reason: "CA certificate lacks basicConstraints CA:TRUE")
        }
        self.name = name
        self.keyPEM = keyPEM
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw LoadError(reason: "CA certificate does not serialize (\(error))")
        }
        self.certificateDER = serializer.serializedBytes
        self.chain = chainPEM.map { PEM.blocks(in: $0, label: "CERTIFICATE") } ?? []
        if let identifier = (try? certificate.extensions.subjectKeyIdentifier)??.keyIdentifier {
            self.authorityKeyIdentifier = identifier
        } else {
            self.authorityKeyIdentifier = SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
        }
        self.randomBytes = randomBytes
    }


    /// A positive 16-octet serial with 126 random bits from the CSPRNG (RFC 5280 allows up to 20 octets).
    func freshSerial() -> Certificate.SerialNumber {
        var bytes = randomBytes(16)
        bytes[0] = (bytes[0] & 0x7F) | 0x40  // positive, and never shorter than 16 octets
        return Certificate.SerialNumber(bytes: bytes)
    }

    static func signatureAlgorithm(of key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        switch key.publicKey {
        case _ where P384.Signing.PublicKey(key.publicKey) != nil: .ecdsaWithSHA384
        case _ where P521.Signing.PublicKey(key.publicKey) != nil: .ecdsaWithSHA512
        case _ where P256.Signing.PublicKey(key.publicKey) != nil: .ecdsaWithSHA256
        default: .sha256WithRSAEncryption
        }
    }

    /// Issues a certificate for `request`: subject and SANs copied from the
    /// request, validity from the profile capped by the CA's own notAfter.
    package func issue(
        _ request: CertificationRequest, profile: CertificateProfile, now: Date, crlURL: String? = nil, ocspURL: String? = nil
    ) throws(Refusal) -> Certificate {
        let ekus = try profile.check(request)
        var validity = profile.validity
        if let cap = profile.maxValidity, cap < validity { validity = cap }
        let notBefore = now.addingTimeInterval(-300)  // tolerate device clocks a little behind
        let notAfter = min(now.addingTimeInterval(validity.timeInterval), certificate.notValidAfter)
        guard notAfter > now else {
            throw Refusal(.issuerError, "CA \(name) has expired (notAfter \(certificate.notValidAfter))")
        }
        let isRSA: Bool = if case .rsa = request.key { true } else { false }
        let keyUsage = try profile.keyUsageExtension(rsa: isRSA)
        do {
            var extensions = Certificate.Extensions()
            try extensions.append(Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
            try extensions.append(Certificate.Extension(keyUsage, critical: true))
            if !ekus.isEmpty {
                try extensions.append(Certificate.Extension(ExtendedKeyUsage(ekus), critical: false))
            }
            try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: request.request.publicKey), critical: false))
            try extensions.append(
                Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier), critical: false))
            if let crlURL {
                try extensions.append(Self.crlDistributionPoints(crlURL))
            }
            if let ocspURL {
                try extensions.append(Self.ocspAccess(ocspURL))
            }
            if let san = request.requestedExtensions?[oid: .X509ExtensionID.subjectAlternativeName] {
                // Copied as requested (URI and UPN otherName included); critical when the subject is empty (RFC 5280 §4.2.1.6).
                try extensions.append(
                    Certificate.Extension(oid: san.oid, critical: request.subject.isEmpty, value: san.value))
            }
            return try Certificate(
                version: .v3, serialNumber: freshSerial(), publicKey: request.request.publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject,
                subject: request.subject, signatureAlgorithm: signatureAlgorithm, extensions: extensions,
                issuerPrivateKey: privateKey)
        } catch {
            throw Refusal(.issuerError, "CA \(name) failed to sign: \(error)")
        }
    }

    /// cRLDistributionPoints (RFC 5280 §4.2.1.13) with one URI:
    /// SEQUENCE { SEQUENCE { [0] { [0] { [6] uri } } } }.
    static func crlDistributionPoints(_ url: String) throws -> Certificate.Extension {
        let uri = Array(url.utf8)
        func node(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
        let value = node(0x30, node(0x30, node(0xA0, node(0xA0, node(0x86, uri)))))
        return Certificate.Extension(oid: [2, 5, 29, 31], critical: false, value: ArraySlice(value))
    }

    /// authorityInfoAccess (RFC 5280 §4.2.2.1) naming the OCSP responder:
    /// SEQUENCE { SEQUENCE { id-ad-ocsp, [6] uri } }.
    static func ocspAccess(_ url: String) throws -> Certificate.Extension {
        func node(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
        let idADOCSP: [UInt8] = [0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]
        let value = node(0x30, node(0x30, idADOCSP + node(0x86, Array(url.utf8))))
        return Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 1, 1], critical: false, value: ArraySlice(value))
    }

    /// A DER length.
    private static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    /// Whether `certificate` was signed by this CA and is valid at `now`.
    func vouchesFor(_ candidate: Certificate, now: Date) -> String? {
        certificate.problemVouching(for: candidate, now: now, caName: name)
    }
}

/// Never the key: a CA interpolated into a log line, or one of a service's
/// properties that ServiceLifecycle logs, shows its name and subject only.
extension LocalCA: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String { "LocalCA(\(name): \(certificate.subject))" }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: ["name": name, "subject": "\(certificate.subject)"], displayStyle: .struct) }
}
