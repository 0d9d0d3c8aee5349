import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// The CA signs with OpenSSL or with swift-crypto, whichever is faster here;
/// both must make certificates that verify, for every CA key type.
@Suite("CA signatures through either library", .timeLimit(.minutes(5)))
struct CASignatureLibraryTests {
    @Test("A certificate signed through OpenSSL verifies under the CA, as one through swift-crypto does",
          arguments: PKIBootstrap.KeyAlgorithm.allCases)
    func bothLibrariesSign(algorithm: PKIBootstrap.KeyAlgorithm) async throws {
        let root = try await Shell.offPool { try PKIBootstrap.makeRootCA(commonName: "Library Root", algorithm: algorithm) }
        let loaded = try Certificate.PrivateKey(pemEncoded: root.keyPEM)
        let algorithm = LocalCA.signatureAlgorithm(of: loaded)
        let viaOpenSSL = Certificate.PrivateKey(
            OpenSSLCAKey(loaded: loaded, signer: try OpenSSLSigningKey(privateKeyPEM: root.keyPEM), defaultSignatureAlgorithm: algorithm))
        let caCertificate = try Certificate(pemEncoded: root.certificatePEM)
        let directory = try TemporaryDirectory()
        try directory.write(root.certificatePEM, to: "ca.pem")
        for (name, key) in [("openssl", viaOpenSSL), ("boringssl", loaded)] {
            let leafKey = P256.Signing.PrivateKey()
            let leaf = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(leafKey.publicKey),
                notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
                issuer: caCertificate.subject, subject: try DistinguishedName { CommonName("leaf-\(name)") },
                signatureAlgorithm: algorithm, extensions: Certificate.Extensions(), issuerPrivateKey: key)
            #expect(caCertificate.publicKey.isValidSignature(leaf.signature, for: leaf), "\(name)")
            try directory.write(try leaf.serializeAsPEM().pemString, to: "\(name).pem")
            let verify = try await OpenSSLCommandLine.run(["verify", "-CAfile", "ca.pem", "\(name).pem"], in: directory)
            #expect(verify.succeeded, "\(name): \(verify)")
        }
        // The CA loads with one of them chosen (by timing both on this machine).
        let ca = try LocalCA(name: "library", certificatePEM: root.certificatePEM, keyPEM: root.keyPEM)
        #expect([SignatureLibrary.openSSL, .boringSSL].contains(ca.signatureLibrary))
    }
}
