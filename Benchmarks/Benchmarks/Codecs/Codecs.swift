import Benchmark
import Crypto
import Foundation
import ScepterProtocol
import SwiftASN1
import X509
import _CryptoExtras

// Microbenchmarks of the codecs one enrollment runs through (ordo-one
// `benchmark`). Each iteration includes its RSA work: PKIMessage.decode
// verifies the request signature, decrypts the envelope (RSA-2048 private)
// and verifies the CSR; CertRep.success encrypts to the device and signs
// (RSA-2048 private). `scepter-bench` prints the RSA costs alone.
let benchmarks: @Sendable () -> Void = {
    let fixture: CodecFixture
    do {
        fixture = try CodecFixture()
    } catch {
        fatalError("building the codec fixture failed: \(error)")
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2), maxIterations: 100_000)

    Benchmark("PKIMessage.decode (PKCSReq, AES-128, RSA-2048)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try PKIMessage.decode(fixture.request, ra: fixture.ra))
        }
    }

    Benchmark("CertRep.success (issued + CA certificate, AES-128)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try CertRep.success(
                    certificates: [fixture.issued, fixture.caCertificate], answering: fixture.header,
                    recipient: fixture.signerCertificate, cipher: .aes128, ra: fixture.ra))
        }
    }

    Benchmark("CertificationRequest(derEncoded:) (RSA-2048, challenge)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try CertificationRequest(derEncoded: fixture.csr))
        }
    }
}

/// A CA (RSA-3072, like `scepter dev`'s), an RA, a device and its PKCSReq.
struct CodecFixture: Sendable {
    let ra: RAIdentity
    let caCertificate: [UInt8]
    let signerCertificate: [UInt8]
    let csr: [UInt8]
    let request: [UInt8]
    let header: PKIMessage.Header
    let issued: [UInt8]

    init() throws {
        let now = Date()
        let caKey = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits3072))
        let caName = try DistinguishedName { CommonName("Codec Benchmark CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caKey.publicKey, notValidBefore: now - 3600,
            notValidAfter: now + 86400, issuer: caName, subject: caName, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: caKey)

        let (raCertificate, raKeyPEM) = try Self.leaf("Codec Benchmark RA", issuer: (ca, caKey), now: now)
        ra = RAIdentity(try CertificateKeyPair(certificatePEM: try raCertificate.serializeAsPEM().pemString, keyPEM: raKeyPEM))
        let (signer, signerKeyPEM) = try Self.leaf("device-1", issuer: nil, now: now)
        let signerKey = try Certificate.PrivateKey(pemEncoded: signerKeyPEM)

        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(.init(oid: [1, 2, 840, 113549, 1, 9, 7], values: [try ASN1Any(erasing: ASN1UTF8String("challenge"))]))
        let request = try CertificateSigningRequest(
            version: .v1, subject: signer.subject, privateKey: signerKey, attributes: attributes,
            signatureAlgorithm: .sha256WithRSAEncryption)

        caCertificate = try Self.der(ca)
        signerCertificate = try Self.der(signer)
        csr = try Self.der(request)
        self.request = try SCEPClient.request(
            .pkcsReq, content: csr, transactionID: "codec-benchmark", recipient: try Self.der(raCertificate),
            signer: try CertificateKeyPair(certificatePEM: try signer.serializeAsPEM().pemString, keyPEM: signerKeyPEM))
        guard case .message(let message) = try PKIMessage.decode(self.request, ra: ra) else {
            throw CocoaError(.coderInvalidValue)
        }
        header = message.header
        let (issuedCertificate, _) = try Self.leaf("device-1", issuer: (ca, caKey), now: now)
        issued = try Self.der(issuedCertificate)
    }

    /// An RSA-2048 end-entity certificate, self-signed when `issuer` is nil.
    static func leaf(
        _ commonName: String, issuer: (Certificate, Certificate.PrivateKey)?, now: Date
    ) throws -> (Certificate, String) {
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = Certificate.PrivateKey(rsa)
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: now - 3600,
            notValidAfter: now + 86400, issuer: issuer?.0.subject ?? name, subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true, keyEncipherment: true)) },
            issuerPrivateKey: issuer?.1 ?? key)
        return (certificate, rsa.pemRepresentation)
    }

    static func der(_ value: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}
