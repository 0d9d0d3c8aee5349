import Foundation
import Testing
import ScepterTesting
@testable import ScepterProtocol

/// `CMSCodec.readSignedData` reads a DER PKIMessage with its certificates
/// cut out (`SignedDataCertificates`) and the signer's RSA key read the
/// legacy way. It must give what OpenSSL's whole parse gives, and step
/// aside for anything else.
@Suite("SignedData read with its certificates apart", .timeLimit(.minutes(5)))
struct SignedDataCertificatesTests {
    static func expectSame(_ fast: CMSCodec.SignedData, _ whole: CMSCodec.SignedData, _ name: String) {
        #expect(fast.signerCertificate == whole.signerCertificate, "\(name)")
        #expect(fast.digestNID == whole.digestNID, "\(name)")
        #expect(fast.attributes == whole.attributes, "\(name)")
        #expect(fast.content == whole.content, "\(name)")
        #expect((fast.signatureFailure == nil) == (whole.signatureFailure == nil), "\(name): \(String(describing: fast.signatureFailure)) vs \(String(describing: whole.signatureFailure))")
    }

    @Test("Every PKIMessage seed and every cipher, digest and key transport: the same signer, attributes, content and verdict")
    func sameAsTheWholeParse() throws {
        var messages = try FuzzCorpusTests.seeds("pkimessage").filter { !$0.name.hasPrefix("fixture-degenerate") }
        let ra = try TestPKI.makeCA(commonName: "Test RA")
        // One device key for all: a key per message would hold a thread of the
        // test process for seconds while the suites beside it wait on time.
        let signer = try TestPKI.makeLeaf(commonName: "device-1")
        for (cipher, digest, transport) in PKIMessageTests.matrix {
            let device = try TestDevice(challenge: "pass", signer: signer)
            messages.append(
                ("\(cipher) \(digest) \(transport)",
                 try device.pkcsReq(ra: ra.certificateDER, cipher: cipher, keyTransport: transport, digest: digest)))
        }
        #expect(messages.count > 30)
        for (name, der) in messages {
            let fast = try #require(CMSCodec.readSignedDataCertificatesApart(der), "\(name): the fast way does not apply")
            #expect(fast.signatureFailure == nil, "\(name)")
            Self.expectSame(fast, try CMSCodec.readSignedDataWhole(der), name)
        }
    }

    @Test("A tampered signature fails the same way")
    func tamperedSignature() throws {
        var request = try TestDevice(challenge: "pass").pkcsReq(ra: try TestPKI.makeCA(commonName: "Test RA").certificateDER)
        request[request.count - 2] ^= 0x01
        let fast = try #require(CMSCodec.readSignedDataCertificatesApart(request))
        #expect(fast.signatureFailure != nil)
        Self.expectSame(fast, try CMSCodec.readSignedDataWhole(request), "tampered")
    }

    @Test("BER (an indefinite length), trailing bytes, a signer whose certificate is missing: read whole")
    func othersAreReadWhole() throws {
        let request = try TestDevice(challenge: "pass").pkcsReq(ra: try TestPKI.makeCA(commonName: "Test RA").certificateDER)
        let expected = try CMSCodec.readSignedDataWhole(request)

        // The outer SEQUENCE with an indefinite length: valid BER, not DER.
        let lengthOctets = Int(request[1] & 0x7F)
        let ber = [0x30, 0x80] + request[(2 + lengthOctets)...] + [0x00, 0x00]
        #expect(SignedDataCertificates(ber) == nil)
        #expect(CMSCodec.readSignedDataCertificatesApart(ber) == nil)
        Self.expectSame(try CMSCodec.readSignedData(ber), expected, "BER")

        let trailing = request + [0x00]
        #expect(CMSCodec.readSignedDataCertificatesApart(trailing) == nil)
        Self.expectSame(try CMSCodec.readSignedData(trailing), expected, "trailing bytes")

        // The certificate's serial number changed: it no longer names the signer.
        let split = try #require(SignedDataCertificates(request))
        #expect(split.certificates.count == 1)
        var renumbered = request
        renumbered[split.certificates[0].serialNumber.endIndex - 1] ^= 0x01
        #expect(CMSCodec.readSignedDataCertificatesApart(renumbered) == nil)
        let read = try CMSCodec.readSignedData(renumbered)
        #expect(read.signerCertificate == nil)
        #expect(read.signatureFailure == "the signer's certificate is not in the SignedData")
    }

    @Test("Without its certificates the message is the same bytes less that field")
    func cutIsExact() throws {
        let request = try TestDevice(challenge: "pass").pkcsReq(ra: try TestPKI.makeCA(commonName: "Test RA").certificateDER)
        let split = try #require(SignedDataCertificates(request))
        let certificate = split.certificates[0].der
        #expect(split.withoutCertificates.count < request.count - certificate.count)
        #expect(split.withoutCertificates.count > request.count - certificate.count - 16)
        // Everything after the certificates field (the SignerInfos) is unchanged.
        let signerInfos = request[(certificate.endIndex)...]
        #expect(split.withoutCertificates.suffix(signerInfos.count).elementsEqual(signerInfos))
    }
}
