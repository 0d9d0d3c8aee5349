import Crypto
import Foundation
import SwiftASN1
import X509
import ScepterProtocol

extension LocalCA {
    /// A delegated OCSP responder for this CA (RFC 6960 §4.2.2.2): a fresh
    /// P-256 key and a certificate this CA signs with EKU OCSPSigning and
    /// id-pkix-ocsp-nocheck, valid `lifetime`.
    func makeOCSPResponder(now: Date, lifetime: Duration) throws -> (signer: OCSP.Signer, notAfter: Date) {
        let key = P256.Signing.PrivateKey()
        let notAfter = min(now.addingTimeInterval(lifetime.timeInterval), certificate.notValidAfter)
        let commonName = certificate.subject.description.split(separator: ",").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) } ?? name
        let subject = try DistinguishedName { CommonName("\(commonName) OCSP Responder") }
        var extensions = Certificate.Extensions()
        try extensions.append(Certificate.Extension(BasicConstraints.notCertificateAuthority, critical: true))
        try extensions.append(Certificate.Extension(KeyUsage(digitalSignature: true), critical: true))
        try extensions.append(Certificate.Extension(ExtendedKeyUsage([.ocspSigning]), critical: false))
        // id-pkix-ocsp-nocheck: clients do not ask whether the responder itself is revoked.
        try extensions.append(Certificate.Extension(oid: [1, 3, 6, 1, 5, 5, 7, 48, 1, 5], critical: false, value: [0x05, 0x00]))
        let publicKey = Certificate.PublicKey(key.publicKey)
        try extensions.append(Certificate.Extension(SubjectKeyIdentifier(hash: publicKey), critical: false))
        try extensions.append(Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier), critical: false))
        let responder = try Certificate(
            version: .v3, serialNumber: freshSerial(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: notAfter, issuer: certificate.subject, subject: subject, signatureAlgorithm: signatureAlgorithm,
            extensions: extensions, issuerPrivateKey: privateKey)
        return (try OCSP.Signer(certificateDER: try responder.derBytes, keyPEM: key.pemRepresentation), notAfter)
    }
}
