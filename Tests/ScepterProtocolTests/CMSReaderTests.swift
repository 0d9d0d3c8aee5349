import Foundation
import Testing
import ScepterTesting
@testable import ScepterProtocol

/// The Swift CMS reader and writer (`CMSReader`, `CMSWriter`) against
/// OpenSSL's CMS: the reader must give what OpenSSL's whole parse gives for
/// every message it takes, step aside for anything else, and never accept
/// what OpenSSL refuses; what the writer makes, OpenSSL must read.
@Suite("CMS read and written in Swift, checked against OpenSSL's CMS", .timeLimit(.minutes(5)))
struct CMSReaderTests {
    static func expectSame(_ fast: CMSCodec.SignedData, _ whole: CMSCodec.SignedData, _ name: String) {
        #expect(fast.signerCertificate == whole.signerCertificate, "\(name)")
        #expect(fast.digestNID == whole.digestNID, "\(name)")
        #expect(fast.attributes == whole.attributes, "\(name)")
        #expect(fast.content == whole.content, "\(name)")
        #expect((fast.signatureFailure == nil) == (whole.signatureFailure == nil), "\(name): \(String(describing: fast.signatureFailure)) vs \(String(describing: whole.signatureFailure))")
    }

    static func request() throws -> [UInt8] {
        try TestDevice(challenge: "pass").pkcsReq(ra: try TestPKI.makeCA(commonName: "Test RA").certificateDER)
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
            let whole = try CMSCodec.readSignedDataWhole(der)
            #expect(whole.signatureFailure == nil, "\(name)")
            #expect(CMSReader.verifiedSignedData(der) != nil, "\(name): read by OpenSSL only")
            Self.expectSame(try CMSCodec.readSignedData(der), whole, name)
        }
    }

    @Test("A tampered signature or content is not accepted; OpenSSL gives the reason")
    func tampered() throws {
        let request = try Self.request()
        var signature = request
        signature[signature.count - 2] ^= 0x01
        #expect(CMSReader.verifiedSignedData(signature) == nil)
        let read = try CMSCodec.readSignedData(signature)
        #expect(read.signatureFailure != nil)
        Self.expectSame(read, try CMSCodec.readSignedDataWhole(signature), "tampered signature")

        // A byte of the encapsulated envelope: the messageDigest no longer matches.
        let envelope = try CMSCodec.readSignedDataWhole(request).content
        let start = try #require(request.firstRange(of: envelope)).lowerBound
        var content = request
        content[start + envelope.count / 2] ^= 0x01
        #expect(CMSReader.verifiedSignedData(content) == nil)
        #expect(try CMSCodec.readSignedData(content).signatureFailure != nil)
    }

    @Test("BER (an indefinite length), trailing bytes, a signer whose certificate is missing: read by OpenSSL")
    func othersAreReadWhole() throws {
        let request = try Self.request()
        let expected = try CMSCodec.readSignedDataWhole(request)

        // The outer SEQUENCE with an indefinite length: valid BER, not DER.
        let lengthOctets = Int(request[1] & 0x7F)
        let ber = [0x30, 0x80] + request[(2 + lengthOctets)...] + [0x00, 0x00]
        #expect(CMSReader.verifiedSignedData(ber) == nil)
        Self.expectSame(try CMSCodec.readSignedData(ber), expected, "BER")

        let trailing = request + [0x00]
        #expect(CMSReader.verifiedSignedData(trailing) == nil)
        Self.expectSame(try CMSCodec.readSignedData(trailing), expected, "trailing bytes")

        // The certificate's serial number changed: it no longer names the signer.
        let signerDER = try #require(expected.signerCertificate)
        let signer = try #require(CertificateFields(der: signerDER))
        let serialAt = try #require(request.firstRange(of: signer.der)).lowerBound + (signer.serialNumber.endIndex - signer.der.startIndex)
        var renumbered = request
        renumbered[serialAt - 1] ^= 0x01
        #expect(CMSReader.verifiedSignedData(renumbered) == nil)
        let read = try CMSCodec.readSignedData(renumbered)
        #expect(read.signerCertificate == nil)
        #expect(read.signatureFailure == "the signer's certificate is not in the SignedData")
    }

    @Test("Strict DER: indefinite, long-form-when-short and truncated lengths are not read")
    func derCursorIsStrict() {
        for bad: [UInt8] in [[0x30, 0x80, 0x00, 0x00], [0x30, 0x81, 0x01, 0x00], [0x04, 0x82, 0x00, 0x90], [0x04, 0x05, 0x00], [0x1F, 0x01, 0x00], [0x04]] {
            var cursor = DERCursor(bad[...])
            #expect(cursor.read() == nil, "\(bad)")
        }
        var good = DERCursor(([0x04, 0x81, 0x80] + [UInt8](repeating: 7, count: 0x80) + [0x05, 0x00])[...])
        #expect(good.content(DERTag.octetString)?.count == 0x80)
        #expect(good.content(DERTag.octetString) == nil)
        #expect(good.content(DERTag.null)?.isEmpty == true)
        #expect(good.isAtEnd)
    }

    @Test(arguments: [
        ("env-des.der", ContentCipher.des), ("env-des3.der", .tripleDES), ("env-aes128.der", .aes128), ("env-aes192.der", .aes192),
        ("env-aes256.der", .aes256),
    ])
    func envelopesFromOpenSSLDecryptTheSame(file: String, cipher: ContentCipher) throws {
        let ra = try EnvelopeTests.ra()
        let envelope = try Fixture.bytes(file)
        let id = try #require(ra.issuerAndSerialNumber)
        let parsed = try #require(CMSReader.envelopedData(envelope, for: id))
        #expect(parsed.cipher == cipher)
        let key = CMSPrimitives.unwrapKey(parsed.encryptedKey, key: ra.key, length: cipher.keyLength)
        let plaintext = try CMSPrimitives.crypt(parsed.encryptedContent, .decrypt, cipher: cipher, key: key, iv: parsed.iv)
        #expect(plaintext == (try CMSCodec.decrypt(envelope, key: ra.key, certificate: ra.openSSLCertificate)))
    }

    @Test("OAEP, another recipient, BER: left to OpenSSL")
    func otherEnvelopesAreLeftToOpenSSL() throws {
        let ra = try EnvelopeTests.ra()
        let id = try #require(ra.issuerAndSerialNumber)
        for file in ["env-aes128-oaep.der", "env-aes256-oaep-sha256.der", "env-other.der"] {
            #expect(CMSReader.envelopedData(try Fixture.bytes(file), for: id) == nil, "\(file)")
        }
        let envelope = try Fixture.bytes("env-aes128.der")
        let lengthOctets = Int(envelope[1] & 0x7F)
        #expect(CMSReader.envelopedData([0x30, 0x80] + envelope[(2 + lengthOctets)...] + [0x00, 0x00], for: id) == nil)
    }

    @Test("A content key that does not decrypt is a badMessageCheck, like a content that does not")
    func badKeyIsABadMessage() throws {
        let ra = RAIdentity(try EnvelopeTests.ra())
        let envelope = try Fixture.bytes("env-aes128.der")
        let id = try #require(ra.encryption.issuerAndSerialNumber)
        let parsed = try #require(CMSReader.envelopedData(envelope, for: id))
        let header = PKIMessage.Header(messageType: .pkcsReq, transactionID: "tx", senderNonce: [1], digest: .sha256)
        let signer = try Fixture.bytes("csr-plain.der")
        var badKey = envelope
        badKey[parsed.encryptedKey.startIndex + 7] ^= 0x40
        var badContent = envelope
        badContent[parsed.encryptedContent.endIndex - 1] ^= 0x40
        for (name, bytes) in [("key", badKey), ("content", badContent)] {
            guard case .refused(_, let refusal, _) = PKIMessage.open(bytes, header: header, signerCertificate: signer, ra: ra) else {
                Issue.record("\(name): a tampered envelope was opened")
                continue
            }
            #expect(refusal.outcome == .badMessageCheck || refusal.outcome == .malformed, "\(name): \(refusal)")
        }
    }

    @Test("A content key wrapped to the RA unwraps; one for the wrong length or key is random bytes of the right length")
    func keyTransport() throws {
        let ra = try EnvelopeTests.ra()
        let raPublic = try #require(CMSRecipient(certificate: ra.certificate))
        let key = SystemRandom.bytes(16)
        let wrapped = try CMSPrimitives.wrapKey(key, to: raPublic.key)
        #expect(wrapped.count == 256)
        #expect(CMSPrimitives.unwrapKey(wrapped[...], key: ra.key, length: 16) == key)
        let wrongLength = CMSPrimitives.unwrapKey(wrapped[...], key: ra.key, length: 32)
        #expect(wrongLength.count == 32)
        let other = try CertificateKeyPair(certificatePEM: try Fixture.text("other-cert.pem"), keyPEM: try Fixture.text("other-key.pem"))
        let substitute = CMSPrimitives.unwrapKey(wrapped[...], key: other.key, length: 16)
        #expect(substitute.count == 16)
        #expect(substitute != key)
        #expect(CMSPrimitives.unwrapKey((wrapped + [0])[...], key: ra.key, length: 16) != key)
    }

    @Test(arguments: ContentCipher.allCases)
    func certRepWrittenInSwiftIsReadByOpenSSL(cipher: ContentCipher) throws {
        let ra = try PKIMessageTests.makeRA()
        let device = try TestDevice(challenge: "pass")
        let request = try device.pkcsReq(ra: ra.leaf.certificateDER, transactionID: "tx-7", cipher: cipher, digest: .sha512)
        guard case .message(let message) = try PKIMessage.decode(request, ra: ra.identity) else {
            Issue.record("the request was refused")
            return
        }
        #expect(message.recipient != nil)
        let issued = try TestPKI.makeLeaf(commonName: "device-1", issuer: ra.ca).certificateDER
        let reply = try CertRep.success(certificates: [issued], answering: message, ra: ra.identity)

        // OpenSSL alone: the signature, the attributes, then the envelope with the device's key.
        let whole = try CMSCodec.readSignedDataWhole(reply)
        #expect(whole.signatureFailure == nil)
        #expect(whole.digestNID == DigestAlgorithm.sha512.nid)
        #expect(whole.signerCertificate == ra.leaf.certificateDER)
        #expect(whole.attributes[.transactionID] == Array("tx-7".utf8))
        #expect(whole.attributes[.recipientNonce] == message.header.senderNonce)
        #expect(whole.attributes[.pkiStatus] == Array("0".utf8))
        let pair = try device.signer.keyPair()
        let degenerate = try CMSCodec.decrypt(whole.content, key: pair.key, certificate: pair.openSSLCertificate)
        #expect(try CMSCodec.certificatesAndCRLs(of: degenerate).certificates == [issued])
        #expect(CMSCodec.envelopeAlgorithms(whole.content).map { ContentCipher(nid: $0.cipherNID) } == cipher)

        // And the Swift reader reads the same.
        Self.expectSame(try CMSCodec.readSignedData(reply), whole, "CertRep")
        #expect(CMSReader.verifiedSignedData(reply) != nil)
    }

    @Test("FAILURE and PENDING CertReps carry an empty content, not a detached one, and verify")
    func contentlessCertReps() throws {
        let ra = try PKIMessageTests.makeRA()
        let header = PKIMessage.Header(messageType: .pkcsReq, transactionID: "tx-8", senderNonce: [9, 9], digest: .sha1)
        for reply in [try CertRep.failure(.badRequest, answering: header, ra: ra.identity), try CertRep.pending(answering: header, ra: ra.identity)] {
            let whole = try CMSCodec.readSignedDataWhole(reply)
            #expect(whole.signatureFailure == nil)
            #expect(whole.content.isEmpty)
            #expect(whole.digestNID == DigestAlgorithm.sha1.nid)
            // The Swift reader takes only an encapsulated content (eContent present): what OpenSSL's PKCS7_verify needs.
            #expect(CMSReader.verifiedSignedData(reply)?.content.isEmpty == true)
        }
        // OpenSSL's writer, for an RA whose certificate the Swift one does not take, encapsulates it as well: [0] { OCTET STRING {} }.
        let signed = try RASignedData.sign([], ra: ra.identity)
        let emptyContent: [UInt8] = [0xA0, 0x02, 0x04, 0x00]
        #expect((0...(signed.count - emptyContent.count)).contains { Array(signed[$0..<($0 + emptyContent.count)]) == emptyContent })
    }

    @Test("UTCTime of the signingTime attribute")
    func utcTime() {
        let cases: [(Int, String)] = [
            (0, "700101000000Z"), (1_796_109_096, "261201071136Z"), (946_684_799, "991231235959Z"),
            (1_835_395_200, "280229000000Z"), (2_524_607_999, "491231235959Z"),
        ]
        for (seconds, text) in cases {
            #expect(CMSWriter.utcTime(seconds) == [DERTag.utcTime, 13] + Array(text.utf8), "\(text)")
        }
    }
}
