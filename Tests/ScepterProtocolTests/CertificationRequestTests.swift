import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting

@Suite("PKCS#10 requests made by openssl req", .timeLimit(.minutes(5)))
struct CertificationRequestTests {
    @Test func fullRequestExposesSubjectChallengeAndEveryKindOfSAN() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-full.der"))
        #expect(csr.commonName == "device-1")
        #expect(csr.challengePassword == "s3cret-challenge")
        #expect(csr.subjectAlternativeNames.dnsNames == ["device-1.example.com", "alt.example.com"])
        #expect(csr.subjectAlternativeNames.rfc822Names == ["alice@example.com"])
        #expect(csr.subjectAlternativeNames.userPrincipalNames == ["alice@corp.example.com"])
        #expect(csr.subjectAlternativeNames.uris == ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512"])
        #expect(csr.key == .rsa(bits: 2048))
        let ekus = try #require(try csr.requestedExtensions?.extendedKeyUsage)
        #expect(Array(ekus) == [.clientAuth])
    }

    @Test func ecdsaRequestWithoutAttributes() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-ec.der"))
        #expect(csr.key == .ecdsa(curve: "P-256"))
        #expect(csr.challengePassword == nil)
        #expect(csr.subjectAlternativeNames.isEmpty)
        #expect(csr.commonName == "ec-device")
    }

    @Test func sha1RequestWithPrintableStringChallenge() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-sha1.der"))
        #expect(csr.challengePassword == "s3cret-challenge")
        #expect(csr.commonName == "sha1-device")
    }

    /// A P-256 CSR whose challengePassword attribute holds `value`.
    static func request(challenge value: ASN1Any) throws -> [UInt8] {
        let key = P256.Signing.PrivateKey()
        let attributes = CertificateSigningRequest.Attributes([
            CertificateSigningRequest.Attribute(oid: [1, 2, 840, 113549, 1, 9, 7], values: [value])
        ])
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("typed-challenge") }, privateKey: .init(key),
            attributes: attributes, signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }

    @Test("The challenge is read from each string type it may come in; any other type reads as no challenge")
    func challengeInEachStringType() throws {
        let printable = try Self.request(challenge: ASN1Any(erasing: ASN1PrintableString("s3cret-challenge")))
        #expect(try CertificationRequest(derEncoded: printable).challengePassword == "s3cret-challenge")
        // Intune's signed challenges hold characters PrintableString cannot.
        let utf8 = try Self.request(challenge: ASN1Any(erasing: ASN1UTF8String("a_b@c.d/é")))
        #expect(try CertificationRequest(derEncoded: utf8).challengePassword == "a_b@c.d/é")
        let ia5 = try Self.request(challenge: ASN1Any(erasing: ASN1IA5String("ia5_challenge@x")))
        #expect(try CertificationRequest(derEncoded: ia5).challengePassword == "ia5_challenge@x")
        // A PrintableString tag over characters PrintableString cannot hold is no challenge.
        let mislabelled = try Self.request(challenge: ASN1Any(erasing: ASN1UTF8String("a_b@c"), withIdentifier: .printableString))
        #expect(try CertificationRequest(derEncoded: mislabelled).challengePassword == nil)
        let bmp = try Self.request(challenge: ASN1Any(erasing: ASN1BMPString("bmp")))
        #expect(try CertificationRequest(derEncoded: bmp).challengePassword == nil)
        let integer = try Self.request(challenge: ASN1Any(erasing: 42))
        #expect(try CertificationRequest(derEncoded: integer).challengePassword == nil)
    }

    @Test func plainRequest() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-plain.der"))
        #expect(csr.commonName == "plain-device")
        #expect(csr.requestedExtensions == nil)
    }

    /// csr-full.der with its two attributes swapped, as Go's crypto/x509
    /// writes them (insertion order, not DER order), and signed again.
    static func attributesOutOfOrder() async throws -> [UInt8] {
        let der = try Fixture.bytes("csr-full.der")
        let root = try DER.parse(der)
        guard case .constructed(let parts) = root.content, let info = parts.first(where: { _ in true }),
            case .constructed(let fields) = info.content, let attributes = fields.first(where: { $0.identifier.tagClass == .contextSpecific }),
            case .constructed(let elements) = attributes.content
        else { throw ASN1Error.invalidASN1Object(reason: "csr-full.der is not a CSR with attributes") }
        let items = Array(elements)
        try #require(items.count == 2, "csr-full.der should hold challengePassword and extensionRequest")
        let contentLength = items[0].encodedBytes.count + items[1].encodedBytes.count
        let header = attributes.encodedBytes.prefix(attributes.encodedBytes.count - contentLength)
        let swapped = Array(header + items[1].encodedBytes + items[0].encodedBytes)
        var newInfo = Array(info.encodedBytes)
        let attributesOffset = attributes.encodedBytes.startIndex - info.encodedBytes.startIndex
        newInfo.replaceSubrange(attributesOffset..<attributesOffset + swapped.count, with: swapped)

        let directory = try Shell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let infoFile = directory.appendingPathComponent("info.der")
        try Data(newInfo).write(to: infoFile)
        let signatureFile = directory.appendingPathComponent("signature")
        let signed = try await Shell.run(
            "/usr/bin/openssl", ["dgst", "-sha256", "-sign", Fixture.path + "/device-key.pem", "-out", signatureFile.path, infoFile.path])
        try #require(signed.status == 0, "\(signed.stderr)")
        let signature = Array(try Data(contentsOf: signatureFile))
        // Same lengths throughout: the info and the signature replace their originals in place.
        var csr = der
        let infoOffset = info.encodedBytes.startIndex - der.startIndex
        csr.replaceSubrange(infoOffset..<infoOffset + newInfo.count, with: newInfo)
        try #require(signature.count == 256)
        csr.replaceSubrange(csr.count - 256..<csr.count, with: signature)
        return csr
    }

    @Test("Attributes in insertion order (Go's crypto/x509) are read; the self-signature is checked over the bytes as sent")
    func attributesInInsertionOrder() async throws {
        let unsorted = try await Self.attributesOutOfOrder()
        #expect(unsorted != (try Fixture.bytes("csr-full.der")))
        let csr = try CertificationRequest(derEncoded: unsorted)
        #expect(csr.challengePassword == "s3cret-challenge")
        #expect(csr.subjectAlternativeNames.dnsNames == ["device-1.example.com", "alt.example.com"])
        #expect(csr.derEncoded == unsorted)
        // The sorted copy is what swift-certificates reads, never what is verified: one changed byte still fails.
        var tampered = unsorted
        tampered[tampered.count - 1] ^= 0x01
        #expect(throws: Refusal.self) { try CertificationRequest(derEncoded: tampered) }
    }

    @Test func tamperedSubjectFailsTheSelfSignature() throws {
        let bytes = try Fixture.bytes("csr-tampered.der")
        do {
            _ = try CertificationRequest(derEncoded: bytes)
            Issue.record("a tampered CSR verified")
        } catch {
            #expect(error.outcome == .badMessageCheck)
        }
    }

    @Test(arguments: [[], [0x30], [0x30, 0x03, 0x02, 0x01, 0x00], Array(repeating: 0x41, count: 64)] as [[UInt8]])
    func garbageIsAPolicyViolation(bytes: [UInt8]) {
        do {
            _ = try CertificationRequest(derEncoded: bytes)
            Issue.record("garbage parsed as a CSR")
        } catch {
            #expect(error.outcome == .policyViolation)
        }
    }
}
