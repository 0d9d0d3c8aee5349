import Foundation
import SwiftASN1
import X509
import ScepterProtocol

/// What `scepter ca ra` and every start check of an issuing CA and its chain.
extension PKIBootstrap {
    /// Checks that `ca` can issue Scepter's RA, device certificates and CRLs: the certificate parses, the
    /// key belongs to it, it says CA:TRUE, its keyUsage (when it has one) allows keyCertSign and
    /// cRLSign, and it is valid at `now` (nil: not checked, as at a start, where an expired CA is
    /// warned of instead: a retired one still answers for its CRL). `certificateName` and `keyName`
    /// name the inputs in the refusal. Returns warnings: what works but not everywhere.
    package static func checkIssuingCA(
        _ ca: Pair, certificateName: String, keyName: String, now: Date? = Date()
    ) throws(Problem) -> [String] {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: ca.certificatePEM)
        } catch {
            throw Problem("\(certificateName) does not hold a PEM certificate (-----BEGIN CERTIFICATE-----): \(error)")
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: ca.keyPEM)
        } catch {
            throw Problem("\(keyName) does not hold an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8): \(error)")
        }
        guard key.publicKey == certificate.publicKey else {
            throw Problem("\(keyName) does not belong to \(certificateName): the certificate holds another public key (was the request made with this key?)")
        }
        guard case .isCertificateAuthority(let pathLength) = (try? certificate.extensions.basicConstraints) ?? nil else {
            throw Problem("\(certificateName) is not a CA certificate: its basicConstraints do not say CA:TRUE (sign it with a subordinate-CA template, e.g. AD CS SubCA)")
        }
        var warnings: [String] = []
        if let keyUsage = (try? certificate.extensions.keyUsage) ?? nil {
            let missing = [keyUsage.keyCertSign ? nil : "keyCertSign", keyUsage.cRLSign ? nil : "cRLSign"].compactMap { $0 }
            guard missing.isEmpty else {
                throw Problem("\(certificateName) cannot sign what Scepter signs: its keyUsage (\(keyUsage)) lacks \(missing.joined(separator: " and "))")
            }
            if !keyUsage.digitalSignature {
                warnings.append("\(certificateName) lacks keyUsage digitalSignature: keep SCEPTER_OCSP_SIGNER=delegated (the default); OCSP answers signed by the CA itself would break strict clients")
            }
        }
        if let pathLength, pathLength > 0 {
            warnings.append("\(certificateName) allows \(pathLength) CA level(s) below it; Scepter issues end-entity certificates only, pathlen 0 is enough")
        }
        guard let now else { return warnings }
        guard certificate.notValidAfter > now else {
            throw Problem("\(certificateName) expired on \(certificate.notValidAfter); have the enterprise CA sign a new one")
        }
        guard certificate.notValidBefore <= now else {
            throw Problem("\(certificateName) is not valid before \(certificate.notValidBefore); check this machine's clock")
        }
        return warnings
    }

    /// Checks that `chainPEM` holds the certificates above `certificatePEM`, nearest first: each parses,
    /// and each signed the one below it. `chainName` names the file in the refusal.
    package static func checkChain(_ chainPEM: String, above certificatePEM: String, chainName: String) throws(Problem) {
        let blocks = PEM.blocks(in: chainPEM, label: "CERTIFICATE")
        guard !blocks.isEmpty else { throw Problem("\(chainName) holds no PEM certificate") }
        guard var below = try? Certificate(pemEncoded: certificatePEM) else { throw Problem("the CA certificate does not parse") }
        for (index, der) in blocks.enumerated() {
            guard let above = try? Certificate(derEncoded: der) else {
                throw Problem("\(chainName): certificate \(index + 1) does not parse")
            }
            guard above.subject == below.issuer, above.publicKey.isValidSignature(below.signature, for: below) else {
                throw Problem(
                    "\(chainName): certificate \(index + 1) (\(above.subject)) did not sign \(below.subject) (issued by \(below.issuer)); list the certificates above the CA, nearest first")
            }
            below = above
        }
    }
}
