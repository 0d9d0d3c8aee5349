import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A stand-in for an Intune Certificate Connector: a signing key and its self-signed certificate.
public struct TestConnector: Sendable {
    /// The Connector's signing key.
    public enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
        /// Not usable for challenges; only for refusing such anchors.
        case p384(P384.Signing.PrivateKey)
    }

    public let key: Key
    public let certificate: Certificate

    /// The certificate as one PEM block.
    public var pem: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// The certificate's DER bytes.
    public var der: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return serializer.serializedBytes
        }
    }

    /// A Connector whose key is none of `others`' keys (`TestPKI.unlike`):
    /// one outside the bundle, whose signatures must not verify.
    public init(_ kind: Kind, commonName: String, notBefore: Date, notAfter: Date, keyUnlike others: [TestConnector]) throws {
        self = try TestPKI.unlike(others.map(\.certificate.publicKey), key: \.certificate.publicKey) {
            try TestConnector(kind, commonName: commonName, notBefore: notBefore, notAfter: notAfter)
        }
    }

    /// Makes a Connector with a key (RSA keys from `TestPKI`'s ring, EC keys
    /// fresh) and a certificate valid over the given interval.
    ///
    /// Certificate times have one-second resolution, so pass whole seconds.
    public init(_ kind: Kind, commonName: String, notBefore: Date, notAfter: Date) throws {
        // Most general first, as real certificates are, so the RFC 4514 string reads "CN=…,O=…".
        let name = try DistinguishedName {
            OrganizationName("Scepter tests")
            CommonName(commonName)
        }
        let publicKey: Certificate.PublicKey
        let privateKey: Certificate.PrivateKey
        switch kind {
        case .rsa:
            let rsa = TestPKI.rsa2048Key()
            key = .rsa(rsa)
            publicKey = Certificate.PublicKey(rsa.publicKey)
            privateKey = Certificate.PrivateKey(rsa)
        case .p256:
            let p256 = P256.Signing.PrivateKey()
            key = .p256(p256)
            publicKey = Certificate.PublicKey(p256.publicKey)
            privateKey = Certificate.PrivateKey(p256)
        case .p384:
            let p384 = P384.Signing.PrivateKey()
            key = .p384(p384)
            publicKey = Certificate.PublicKey(p384.publicKey)
            privateKey = Certificate.PrivateKey(p384)
        }
        certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: name,
            subject: name,
            extensions: Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: privateKey
        )
    }

    /// The key algorithms a test Connector can have.
    public enum Kind: Sendable {
        case rsa, p256, p384
    }
}
