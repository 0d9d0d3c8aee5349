import Crypto
import Foundation
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import X509
import _CryptoExtras

/// The fixed identities every fuzz run uses, so committed seeds stay valid:
/// the RA and CA of Tests/ScepterProtocolTests/Fixtures (their README says
/// how they were made) and a Connector key derived from a constant.
enum FuzzFixtures {
    /// The clock of every run: inside the fixtures' validity (2025–2035).
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    static let directory: URL = {
        // Fuzz/Sources/ScepterFuzzTargets/FuzzFixtures.swift -> the repository root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Tests/ScepterProtocolTests/Fixtures")
    }()

    static func text(_ name: String) -> String {
        let url = directory.appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url) else { fatalError("fuzz fixture \(url.path) is not readable") }
        return String(decoding: data, as: UTF8.self)
    }

    static func pemDER(_ name: String) -> [UInt8] {
        guard let der = PEM.firstBlock(in: text(name), label: "CERTIFICATE") else { fatalError("fuzz fixture \(name) holds no certificate") }
        return der
    }

    /// The fixtures' RA (`ra-cert.pem`, `ra-key.pem`): requests are encrypted to it.
    static let ra: RAIdentity = {
        do {
            return RAIdentity(try CertificateKeyPair(certificatePEM: text("ra-cert.pem"), keyPEM: text("ra-key.pem")))
        } catch {
            fatalError("fuzz RA does not load: \(error)")
        }
    }()

    /// The fixtures' device pair: signs the seed PKIMessages.
    static let device: CertificateKeyPair = {
        do {
            return try CertificateKeyPair(certificatePEM: text("device-cert.pem"), keyPEM: text("device-key.pem"))
        } catch {
            fatalError("fuzz device pair does not load: \(error)")
        }
    }()

    /// The fixtures' CA: OCSP questions are asked about it.
    static let caCertificate: [UInt8] = pemDER("ca-cert.pem")

    static let ocspIssuer: OCSP.Issuer = {
        do { return try OCSP.Issuer(certificateDER: caCertificate) } catch { fatalError("fuzz OCSP issuer: \(error)") }
    }()

    /// A P-256 responder (ECDSA signs in microseconds; the key type does not change what is parsed).
    static let ocspSigner: OCSP.Signer = {
        do {
            let responder = try TestPKI.makeLeaf(commonName: "Fuzz OCSP responder", key: .p256, notBefore: now - 3600, notAfter: now + 86_400)
            return try OCSP.Signer(certificateDER: responder.certificateDER, keyPEM: responder.keyPEM)
        } catch {
            fatalError("fuzz OCSP signer: \(error)")
        }
    }()

    /// The Connector: a P-256 key from a constant, so seeds signed by it verify in every run.
    static let connectorKey: P256.Signing.PrivateKey = {
        do {
            return try P256.Signing.PrivateKey(rawRepresentation: Array(SHA256.hash(data: Array("scepter fuzz connector".utf8))))
        } catch {
            fatalError("fuzz Connector key: \(error)")
        }
    }()

    /// The RA's RSA key as a second Connector, so RS256 challenges verify too.
    static let rsaConnectorKey: _RSA.Signing.PrivateKey = {
        do { return try _RSA.Signing.PrivateKey(pemRepresentation: text("ra-key.pem")) } catch { fatalError("fuzz RSA Connector key: \(error)") }
    }()

    static let anchors: TrustAnchors = {
        do {
            let name = try DistinguishedName { CommonName("Fuzz Connector") }
            var bundle = ""
            for key in [Certificate.PrivateKey(connectorKey), Certificate.PrivateKey(rsaConnectorKey)] {
                let certificate = try Certificate(
                    version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: now - 86_400 * 30,
                    notValidAfter: now + 86_400 * 365, issuer: name, subject: name,
                    signatureAlgorithm: P256.Signing.PublicKey(key.publicKey) != nil ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
                    extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true)) }, issuerPrivateKey: key)
                bundle += try certificate.serializeAsPEM().pemString + "\n"
            }
            return try TrustAnchors(pemBundle: bundle, now: now)
        } catch {
            fatalError("fuzz trust anchors: \(error)")
        }
    }()

    static let audience = "https://scep.example.com/scep/corp"

    static let validator = IntuneValidator(
        anchors: anchors, policy: IntuneValidator.Policy(audience: audience, allowedSANTypes: Set(IntuneValidator.SANType.allCases)))

    /// What the seeds' claims bind.
    static let identity = IntuneValidator.CSRIdentity(
        commonName: "LAPTOP-0042", dnsNames: ["laptop-0042.corp.example"], rfc822Names: ["alice@corp.example"], upns: ["alice@corp.example"])
}
