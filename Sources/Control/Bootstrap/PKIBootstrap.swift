import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
import ScepterProtocol

/// Creates CA and RA key pairs for `scepter ca init` and `scepter dev`.
package enum PKIBootstrap {
    package enum KeyAlgorithm: String, Sendable, CaseIterable {
        /// RSA 3072, the default.
        case rsa
        /// RSA 2048: the common issuing-CA size, and the cheapest RSA signature.
        case rsa2048
        /// ECDSA P-256.
        case ecdsa
    }

    /// A PEM certificate and its PEM private key.
    package struct Pair: Sendable {
        package var certificatePEM: String
        package var keyPEM: String

        package init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// A self-signed root CA, valid 10 years.
    package static func makeRootCA(commonName: String, algorithm: KeyAlgorithm, now: Date = Date()) throws -> Pair {
        let key: Certificate.PrivateKey
        let keyPEM: String
        switch algorithm {
        case .rsa, .rsa2048:
            let rsa = try _RSA.Signing.PrivateKey(keySize: algorithm == .rsa ? .bits3072 : .bits2048)
            key = Certificate.PrivateKey(rsa)
            keyPEM = rsa.pemRepresentation
        case .ecdsa:
            let p256 = P256.Signing.PrivateKey()
            key = Certificate.PrivateKey(p256)
            keyPEM = p256.pemRepresentation
        }
        let name = try DistinguishedName {
            OrganizationName("Scepter")
            CommonName(commonName)
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: algorithm == .ecdsa ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
            extensions: extensions, issuerPrivateKey: key)
        return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: keyPEM)
    }

    /// An RSA 2048 RA certificate signed by the CA, valid 2 years (clients encrypt to RSA only).
    package static func makeRA(commonName: String, ca: Pair, now: Date = Date()) throws -> Pair {
        let caCertificate = try Certificate(pemEncoded: ca.certificatePEM)
        let caKey = try Certificate.PrivateKey(pemEncoded: ca.keyPEM)
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = Certificate.PrivateKey(rsa)
        let subject = try DistinguishedName {
            OrganizationName("Scepter")
            CommonName(commonName)
        }
        let caKeyIdentifier = (try? caCertificate.extensions.subjectKeyIdentifier)??.keyIdentifier
            ?? SubjectKeyIdentifier(hash: caCertificate.publicKey).keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            SubjectKeyIdentifier(hash: key.publicKey)
            AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier)
        }
        let isRSA = _RSA.Signing.PublicKey(caKey.publicKey) != nil
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: min(now.addingTimeInterval(2 * 365 * 86400), caCertificate.notValidAfter),
            issuer: caCertificate.subject, subject: subject,
            signatureAlgorithm: isRSA ? .sha256WithRSAEncryption : .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: caKey)
        return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: rsa.pemRepresentation)
    }
}
