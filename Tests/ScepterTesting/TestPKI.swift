import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
import ScepterProtocol
import Synchronization

/// Keys and certificates generated in code for tests.
public enum TestPKI {
    /// A certificate with its key in both worlds: swift-certificates and PEM.
    public struct Identity: Sendable {
        public let certificate: Certificate
        public let privateKey: Certificate.PrivateKey
        public let certificatePEM: String
        public let keyPEM: String

        public var certificateDER: [UInt8] {
            var serializer = DER.Serializer()
            try! serializer.serialize(certificate)
            return serializer.serializedBytes
        }

        /// The pair as OpenSSL holds it (RSA only).
        public func keyPair() throws -> CertificateKeyPair {
            try CertificateKeyPair(certificatePEM: certificatePEM, keyPEM: keyPEM)
        }
    }

    public enum KeyKind: Sendable { case rsa2048, rsa1024, p256 }

    static func makeKey(_ kind: KeyKind) throws -> (Certificate.PrivateKey, String) {
        switch kind {
        case .rsa2048:
            let key = rsa2048Keys.next()
            return (Certificate.PrivateKey(key), key.pemRepresentation)
        case .rsa1024:
            let key = rsa1024Keys.next()
            return (Certificate.PrivateKey(key), key.pemRepresentation)
        case .p256:
            let key = P256.Signing.PrivateKey()
            return (Certificate.PrivateKey(key), key.pemRepresentation)
        }
    }

    /// An RSA-2048 key from the fixed test keys; two asked for one after the
    /// other always differ.
    public static func rsa2048Key() -> _RSA.Signing.PrivateKey { rsa2048Keys.next() }

    /// An RSA-1024 key (too weak to be accepted) from the fixed test keys.
    public static func rsa1024Key() -> _RSA.Signing.PrivateKey { rsa1024Keys.next() }

    /// RSA keys for every certificate and request the tests make, read from
    /// `Keys/` (made once with `openssl genrsa -traditional`) and handed out in
    /// turn. They are never generated during a run: key generation in a debug
    /// build of BoringSSL takes up to a second of CPU per key, and the tests
    /// that started first each generated one on the cooperative pool's two
    /// threads, holding them for over a minute; in-process HTTP stand-ins
    /// that needed a thread meanwhile failed their 20 s deadlines.
    static let rsa2048Keys = KeyRing(file: "rsa2048")
    static let rsa1024Keys = KeyRing(file: "rsa1024")

    final class KeyRing: Sendable {
        private let keys: [_RSA.Signing.PrivateKey]
        private let turn = Atomic<Int>(0)

        init(file: String) {
            guard let url = Bundle.module.url(forResource: file, withExtension: "pem", subdirectory: "Keys"),
                  let text = try? String(contentsOf: url, encoding: .utf8)
            else { fatalError("TestPKI: Keys/\(file).pem is missing from the ScepterTesting bundle") }
            let marker = "-----END RSA PRIVATE KEY-----"
            keys = text.components(separatedBy: marker).dropLast().map { block in
                do { return try _RSA.Signing.PrivateKey(unsafePEMRepresentation: block + marker) } catch {
                    fatalError("TestPKI: a key in Keys/\(file).pem does not parse: \(error)")
                }
            }
            precondition(keys.count > 1, "TestPKI: Keys/\(file).pem holds \(keys.count) keys; the ring needs two or more")
        }

        func next() -> _RSA.Signing.PrivateKey {
            keys[turn.wrappingAdd(1, ordering: .relaxed).oldValue % keys.count]
        }
    }

    static func algorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        P256.Signing.PublicKey(key.publicKey) != nil ? .ecdsaWithSHA256 : .sha256WithRSAEncryption
    }

    /// A CA certificate (self-signed unless `issuer` is given).
    public static func makeCA(
        commonName: String = "Test CA", key kind: KeyKind = .rsa2048, issuer: Identity? = nil,
        notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(10 * 365 * 86400)
    ) throws -> Identity {
        try makeCertificate(commonName: commonName, key: kind, issuer: issuer, notBefore: notBefore, notAfter: notAfter) { key in
            try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            }
        }
    }

    /// Calls `make` until what it made has a key none of `others` has.
    ///
    /// The RSA test keys come from a ring handed out in turn to every test
    /// running at once, so two draws can meet the same key (it happened in
    /// CI: a forged renewal's "impostor" CA was the CA itself, and the
    /// forgery verified). A test whose point is a different key (a forged
    /// signer, a key file that is not the certificate's, a Connector outside
    /// the bundle) makes its second identity through this.
    public static func unlike<Made>(
        _ others: [Certificate.PublicKey], key: (Made) -> Certificate.PublicKey, make: () throws -> Made
    ) throws -> Made {
        for _ in 0..<8 {
            let made = try make()
            if !others.contains(key(made)) { return made }
        }
        preconditionFailure("TestPKI.unlike: eight keys in a row were among the \(others.count) to avoid")
    }

    /// A self-signed CA named `commonName` whose key is not `other`'s (``unlike(_:key:make:)``).
    public static func makeCA(commonName: String = "Test CA", keyUnlike other: Identity) throws -> Identity {
        try unlike([other.certificate.publicKey], key: \.certificate.publicKey) { try makeCA(commonName: commonName) }
    }

    /// An end-entity certificate: an RA signed by `issuer`, or a device's
    /// self-signed transient certificate when `issuer` is nil.
    public static func makeLeaf(
        commonName: String, key kind: KeyKind = .rsa2048, issuer: Identity? = nil,
        notBefore: Date = Date().addingTimeInterval(-3600), notAfter: Date = Date().addingTimeInterval(365 * 86400),
        keyUsage: KeyUsage = KeyUsage(digitalSignature: true, keyEncipherment: true)
    ) throws -> Identity {
        try makeCertificate(commonName: commonName, key: kind, issuer: issuer, notBefore: notBefore, notAfter: notAfter) { _ in
            try Certificate.Extensions { Critical(keyUsage) }
        }
    }

    private static func makeCertificate(
        commonName: String, key kind: KeyKind, issuer: Identity?, notBefore: Date, notAfter: Date,
        extensions: (Certificate.PrivateKey) throws -> Certificate.Extensions
    ) throws -> Identity {
        let (key, keyPEM) = try makeKey(kind)
        let name = try DistinguishedName { CommonName(commonName) }
        let signingKey = issuer?.privateKey ?? key
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: notBefore, notValidAfter: notAfter,
            issuer: issuer?.certificate.subject ?? name, subject: name, signatureAlgorithm: algorithm(for: signingKey),
            extensions: try extensions(key), issuerPrivateKey: signingKey)
        return Identity(
            certificate: certificate, privateKey: key, certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: keyPEM)
    }

    /// A PKCS#10 request signed by `key`.
    public static func makeCSR(
        commonName: String?, challenge: String? = nil, dnsNames: [String] = [], emails: [String] = [], upns: [String] = [],
        uris: [String] = [], ekus: [ExtendedKeyUsage.Usage] = [], key: Certificate.PrivateKey
    ) throws -> [UInt8] {
        let subject = try DistinguishedName {
            if let commonName { CommonName(commonName) }
        }
        var names: [GeneralName] = dnsNames.map { .dnsName($0) } + emails.map { .rfc822Name($0) } + uris.map { .uniformResourceIdentifier($0) }
        for upn in upns {
            let value = try ASN1Any(erasing: ASN1UTF8String(upn))
            names.append(.otherName(.init(typeID: CertificationRequest.upnOID, value: value)))
        }
        var extensions = Certificate.Extensions()
        if !names.isEmpty { try extensions.append(Certificate.Extension(SubjectAlternativeNames(names), critical: false)) }
        if !ekus.isEmpty { try extensions.append(Certificate.Extension(ExtendedKeyUsage(ekus), critical: false)) }
        var attributes = CertificateSigningRequest.Attributes()
        if !extensions.isEmpty { attributes.insert(try .init(ExtensionRequest(extensions: extensions))) }
        if let challenge {
            let value = try ASN1Any(erasing: ASN1UTF8String(challenge))
            attributes.insert(.init(oid: [1, 2, 840, 113549, 1, 9, 7], values: [value]))
        }
        let csr = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: key, attributes: attributes, signatureAlgorithm: algorithm(for: key))
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }
}

/// A device about to enroll: a transient self-signed signer and a CSR.
public struct TestDevice: Sendable {
    public let signer: TestPKI.Identity
    public let csr: [UInt8]

    /// `signer`: the key pair (and SCEP signer) of an earlier request, for a device that keeps its key.
    public init(
        commonName: String = "device-1", challenge: String?, dnsNames: [String] = [], emails: [String] = [], upns: [String] = [],
        uris: [String] = [], ekus: [ExtendedKeyUsage.Usage] = [], signer: TestPKI.Identity? = nil
    ) throws {
        self.signer = try signer ?? TestPKI.makeLeaf(commonName: commonName)
        csr = try TestPKI.makeCSR(
            commonName: commonName, challenge: challenge, dnsNames: dnsNames, emails: emails, upns: upns, uris: uris, ekus: ekus,
            key: self.signer.privateKey)
    }

    /// A PKCSReq PKIMessage for `ra`.
    public func pkcsReq(
        ra: [UInt8], transactionID: String = UUID().uuidString, nonce: [UInt8] = CertRep.freshNonce(),
        cipher: ContentCipher = .aes128, keyTransport: KeyTransport = .rsaPKCS1, digest: DigestAlgorithm = .sha256
    ) throws -> [UInt8] {
        try SCEPClient.request(
            .pkcsReq, content: csr, transactionID: transactionID, senderNonce: nonce, recipient: ra, cipher: cipher,
            keyTransport: keyTransport, signer: try signer.keyPair(), digest: digest)
    }
}

extension TestPKI {
    /// `name` as a client may re-encode it (RFC 5280 §7.1 still calls it the
    /// same name): PrintableString and UTF8String swapped, upper case, other
    /// spacing. Throws for an attribute whose value is not a string.
    public static func reencoded(_ name: DistinguishedName) throws -> DistinguishedName {
        try DistinguishedName(
            name.map { rdn in
                try RelativeDistinguishedName(
                    rdn.map { attribute in
                        guard let text = String(attribute.value) else { throw ReencodingError(attribute: "\(attribute)") }
                        let shouted = " " + text.uppercased().replacingOccurrences(of: " ", with: "  ") + "  "
                        let printable = try? RelativeDistinguishedName.Attribute.Value(printableString: shouted)
                        let value = printable.map { $0 == attribute.value ? .init(utf8String: shouted) : $0 } ?? .init(utf8String: shouted)
                        return RelativeDistinguishedName.Attribute(type: attribute.type, value: value)
                    })
            })
    }

    public struct ReencodingError: Error {
        public var attribute: String
    }
}
