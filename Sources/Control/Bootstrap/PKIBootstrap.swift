import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
import ScepterProtocol

/// Creates CA and RA key pairs for `scepter ca init` and `scepter dev`, and the request and checks of
/// `scepter ca csr` and `scepter ca ra` for a CA an enterprise CA signs.
package enum PKIBootstrap {
    package enum KeyAlgorithm: String, Sendable, CaseIterable {
        /// RSA 3072, the default.
        case rsa
        /// RSA 2048: the common issuing-CA size, and the cheapest RSA signature.
        case rsa2048
        /// ECDSA P-256.
        case ecdsa
    }

    /// A PEM certificate and its PEM private key; described without the key.
    package struct Pair: Sendable, CustomStringConvertible, CustomReflectable {
        package var certificatePEM: String
        package var keyPEM: String

        package init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }

        package var description: String { "Pair(certificate, key)" }
        package var customMirror: Mirror { Mirror(self, children: ["certificatePEM": certificatePEM], displayStyle: .struct) }
    }

    /// A problem with an operator's input (a subject, a CA certificate or key), worded for the command line.
    package struct Problem: Error, CustomStringConvertible {
        package var message: String
        package var description: String { message }

        package init(_ message: String) { self.message = message }
    }

    /// `O=Scepter, CN=<commonName>`: the subject `ca init` and `scepter dev` give their CA and RA.
    package static func scepterName(commonName: String) throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationName("Scepter")
            CommonName(commonName)
        }
    }

    /// A new private key: the key itself and its unencrypted PEM (PKCS#1 for RSA, PKCS#8 for P-256).
    static func makeKey(_ algorithm: KeyAlgorithm) throws -> (key: Certificate.PrivateKey, pem: String) {
        switch algorithm {
        case .rsa, .rsa2048:
            let rsa = try _RSA.Signing.PrivateKey(keySize: algorithm == .rsa ? .bits3072 : .bits2048)
            return (Certificate.PrivateKey(rsa), rsa.pemRepresentation)
        case .ecdsa:
            let p256 = P256.Signing.PrivateKey()
            return (Certificate.PrivateKey(p256), p256.pemRepresentation)
        }
    }

    /// What an issuing CA needs, asked for by `ca csr` and given by `ca init`: it signs only end-entity
    /// certificates (pathlen 0), its RA and OCSP responders (keyCertSign), CRLs (cRLSign), and OCSP
    /// answers itself under `SCEPTER_OCSP_SIGNER=ca` (digitalSignature).
    static let issuingCAConstraints = BasicConstraints.isCertificateAuthority(maxPathLength: 0)
    static let issuingCAKeyUsage = KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true)

    /// A self-signed root CA named `O=Scepter, CN=<commonName>`, valid 10 years.
    package static func makeRootCA(commonName: String, algorithm: KeyAlgorithm, now: Date = Date()) throws -> Pair {
        try makeRootCA(subject: scepterName(commonName: commonName), algorithm: algorithm, now: now)
    }

    /// A self-signed root CA with `subject`, valid 10 years.
    package static func makeRootCA(subject name: DistinguishedName, algorithm: KeyAlgorithm, now: Date = Date()) throws -> Pair {
        let (key, keyPEM) = try makeKey(algorithm)
        let extensions = try Certificate.Extensions {
            Critical(issuingCAConstraints)
            Critical(issuingCAKeyUsage)
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: algorithm == .ecdsa ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
            extensions: extensions, issuerPrivateKey: key)
        return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: keyPEM)
    }

    /// A new CA key and a PKCS#10 request for it, for an enterprise CA to sign as a subordinate: the
    /// extensionRequest asks for the issuing CA's basicConstraints and keyUsage (the signer adds the key
    /// identifiers).
    package static func makeCASigningRequest(subject: DistinguishedName, algorithm: KeyAlgorithm) throws -> (requestPEM: String, keyPEM: String) {
        let (key, keyPEM) = try makeKey(algorithm)
        let extensions = try Certificate.Extensions {
            Critical(issuingCAConstraints)
            Critical(issuingCAKeyUsage)
        }
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: key,
            attributes: CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))]),
            signatureAlgorithm: algorithm == .ecdsa ? .ecdsaWithSHA256 : .sha256WithRSAEncryption)
        return (try request.serializeAsPEM().pemString, keyPEM)
    }

    /// An RSA 2048 RA certificate signed by the CA, valid 2 years (clients
    /// encrypt to RSA only), for `roles`: both, as `ca init` makes it, or one
    /// of a split RA's two (`ca ra --split`, NDES's layout), with only the
    /// keyUsage bits its roles need.
    package static func makeRA(
        commonName: String, ca: Pair, roles: [RAIdentity.Role] = [.signing, .encryption], now: Date = Date()
    ) throws -> Pair {
        let caCertificate = try Certificate(pemEncoded: ca.certificatePEM)
        let caKey = try Certificate.PrivateKey(pemEncoded: ca.keyPEM)
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = Certificate.PrivateKey(rsa)
        let subject = try scepterName(commonName: commonName)
        let caKeyIdentifier = (try? caCertificate.extensions.subjectKeyIdentifier)??.keyIdentifier
            ?? SubjectKeyIdentifier(hash: caCertificate.publicKey).keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(RAIdentity.Role.keyUsage(roles))
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
