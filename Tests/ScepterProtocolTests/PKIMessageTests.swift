import Foundation
import Testing
import SwiftASN1
import X509
import ScepterProtocol
import ScepterTesting

@Suite("PKIMessage decoding and CertRep encoding", .timeLimit(.minutes(5)))
struct PKIMessageTests {
    @Test("A split RA decrypts what is encrypted to its encryption certificate, and to its signing one only when that allows keyEncipherment")
    func splitRADecryption() throws {
        let ca = try TestPKI.makeCA(commonName: "Test CA")
        let encryption = try TestPKI.makeLeaf(commonName: "RA encryption", issuer: ca, keyUsage: KeyUsage(keyEncipherment: true))
        let signingOnly = try TestPKI.makeLeaf(commonName: "RA signing", issuer: ca, keyUsage: KeyUsage(digitalSignature: true))
        let signingBoth = try TestPKI.makeLeaf(commonName: "RA both", issuer: ca)
        // OAEP key transport takes OpenSSL's reader, PKCS #1 v1.5 the Swift one: both choose among the pairs.
        func decoded(_ recipient: TestPKI.Identity, by ra: RAIdentity, _ transport: KeyTransport = .rsaPKCS1) throws -> PKIMessage.Decoded {
            try PKIMessage.decode(try TestDevice(challenge: "pass").pkcsReq(ra: recipient.certificateDER, keyTransport: transport), ra: ra)
        }
        let strict = RAIdentity(encryption: try encryption.keyPair(), signing: try signingOnly.keyPair())
        guard case .message = try decoded(encryption, by: strict) else {
            Issue.record("a request encrypted to the encryption certificate was refused")
            return
        }
        guard case .refused(_, let refusal, _) = try decoded(signingOnly, by: strict) else {
            Issue.record("a request encrypted to a signing-only certificate was decrypted")
            return
        }
        #expect(refusal.outcome == .badMessageCheck && refusal.reason.contains("but to serial"), "\(refusal.reason)")
        // Already split: no advice to split it.
        #expect(!refusal.reason.contains("RA_ENCRYPTION_CERT_PATH"), "\(refusal.reason)")
        guard case .refused = try decoded(signingOnly, by: strict, .rsaOAEP) else {
            Issue.record("OpenSSL's reader decrypted a request encrypted to a signing-only certificate")
            return
        }
        let lenient = RAIdentity(encryption: try encryption.keyPair(), signing: try signingBoth.keyPair())
        for transport in [KeyTransport.rsaPKCS1, .rsaOAEP] {
            guard case .message = try decoded(signingBoth, by: lenient, transport) else {
                Issue.record("a request encrypted (\(transport)) to a signing certificate with keyEncipherment was refused")
                return
            }
            guard case .message = try decoded(encryption, by: lenient, transport) else {
                Issue.record("a request encrypted (\(transport)) to the encryption certificate was refused")
                return
            }
        }
    }

    struct RA {
        let ca: TestPKI.Identity
        let leaf: TestPKI.Identity
        let identity: RAIdentity
    }

    static func makeRA() throws -> RA {
        let ca = try TestPKI.makeCA(commonName: "Test CA")
        let leaf = try TestPKI.makeLeaf(commonName: "Test RA", issuer: ca)
        return RA(ca: ca, leaf: leaf, identity: RAIdentity(try leaf.keyPair()))
    }

    static let matrix: [(ContentCipher, DigestAlgorithm, KeyTransport)] = ContentCipher.allCases.flatMap { cipher in
        [DigestAlgorithm.sha1, .sha256, .sha512].flatMap { digest in
            [KeyTransport.rsaPKCS1, .rsaOAEP].map { (cipher, digest, $0) }
        }
    }

    @Test(arguments: matrix)
    func roundTripsEveryCipherDigestAndKeyTransport(cipher: ContentCipher, digest: DigestAlgorithm, transport: KeyTransport) throws {
        let ra = try Self.makeRA()
        let device = try TestDevice(challenge: "pass", dnsNames: ["device-1.example.com"])
        let nonce = CertRep.freshNonce()
        let request = try device.pkcsReq(
            ra: ra.leaf.certificateDER, transactionID: "tx-1", nonce: nonce, cipher: cipher, keyTransport: transport, digest: digest)

        guard case .message(let message) = try PKIMessage.decode(request, ra: ra.identity) else {
            Issue.record("a valid PKCSReq was refused")
            return
        }
        #expect(message.header.messageType == .pkcsReq)
        #expect(message.header.transactionID == "tx-1")
        #expect(message.header.senderNonce == nonce)
        #expect(message.header.digest == digest)
        #expect(message.cipher == cipher)
        #expect(message.keyTransport == transport)
        #expect(message.signerCertificate == device.signer.certificateDER)
        guard case .certificationRequest(let csr) = message.content else {
            Issue.record("content is not a CSR")
            return
        }
        #expect(csr.derEncoded == device.csr)
        #expect(csr.challengePassword == "pass")

        // The answer, read back as the device would.
        let issued = try TestPKI.makeLeaf(commonName: "device-1", issuer: ra.ca).certificateDER
        let reply = try CertRep.success(
            certificates: [issued, ra.ca.certificateDER], answering: message.header, recipient: message.signerCertificate,
            cipher: message.cipher, ra: ra.identity)
        let read = try SCEPClient.readReply(reply, requester: try device.signer.keyPair())
        #expect(read.status == .success)
        #expect(read.transactionID == "tx-1")
        #expect(read.recipientNonce == nonce)
        #expect(read.senderNonce != nonce)
        #expect(read.signerCertificate == ra.leaf.certificateDER)
        #expect(read.certificates == [issued, ra.ca.certificateDER])
    }

    @Test(arguments: [FailInfo.badAlg, .badMessageCheck, .badRequest, .badTime, .badCertID])
    func failureCarriesFailInfo(failInfo: FailInfo) throws {
        let ra = try Self.makeRA()
        let device = try TestDevice(challenge: nil)
        let header = PKIMessage.Header(messageType: .pkcsReq, transactionID: "tx-f", senderNonce: [1, 2, 3], digest: .sha256)
        let reply = try SCEPClient.readReply(try CertRep.failure(failInfo, answering: header, ra: ra.identity), requester: try device.signer.keyPair())
        #expect(reply.status == .failure)
        #expect(reply.failInfo == failInfo)
        #expect(reply.recipientNonce == [1, 2, 3])
        #expect(reply.certificates.isEmpty)
    }

    @Test func pendingIsSigned() throws {
        let ra = try Self.makeRA()
        let device = try TestDevice(challenge: nil)
        let header = PKIMessage.Header(messageType: .pkcsReq, transactionID: "tx-p", senderNonce: [9], digest: .sha512)
        let reply = try SCEPClient.readReply(try CertRep.pending(answering: header, ra: ra.identity), requester: try device.signer.keyPair())
        #expect(reply.status == .pending)
        #expect(reply.failInfo == nil)
        #expect(reply.transactionID == "tx-p")
    }

    @Test func tamperedSignatureIsBadMessageCheck() throws {
        let ra = try Self.makeRA()
        var request = try TestDevice(challenge: "pass").pkcsReq(ra: ra.leaf.certificateDER)
        // The SignerInfo is last; its signature is the final bytes of the DER.
        request[request.count - 2] ^= 0x01
        guard case .refused(let header, let refusal, _) = try PKIMessage.decode(request, ra: ra.identity) else {
            Issue.record("a tampered signature was accepted")
            return
        }
        #expect(refusal.outcome == .badMessageCheck)
        #expect(header.messageType == .pkcsReq)
    }

    @Test func envelopeForAnotherRAIsBadMessageCheck() throws {
        let ra = try Self.makeRA()
        let other = try Self.makeRA()
        let request = try TestDevice(challenge: "pass").pkcsReq(ra: other.leaf.certificateDER)
        guard case .refused(_, let refusal, _) = try PKIMessage.decode(request, ra: ra.identity) else {
            Issue.record("a message for another RA was decrypted")
            return
        }
        #expect(refusal.outcome == .badMessageCheck)
        #expect(refusal.reason.contains("not encrypted to this profile's RA"))
        // Both certificates named, so an operator tells a client that encrypts to the CA from a stale RA.
        let serial = { (identity: TestPKI.Identity) in identity.certificate.serialNumber.hexString }
        #expect(refusal.reason.contains("(serial \(serial(ra.leaf)) issued by CN=Test CA) but to serial \(serial(other.leaf)) issued by CN=Test CA"), "\(refusal.reason)")
        #expect(refusal.reason.contains("RA_ENCRYPTION_CERT_PATH"))
    }

    @Test func everyTruncationIsRefusedWithoutACrash() throws {
        let ra = try Self.makeRA()
        let request = try TestDevice(challenge: "pass").pkcsReq(ra: ra.leaf.certificateDER)
        for length in stride(from: 0, to: request.count, by: 7) {
            let truncated = Array(request.prefix(length))
            if case .message = try? PKIMessage.decode(truncated, ra: ra.identity) {
                Issue.record("a message truncated to \(length) bytes was accepted")
            }
        }
    }

    @Test func randomGarbageIsNotAPKIMessage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let garbage = (0..<Int.random(in: 0..<600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: PKIMessage.NotAPKIMessage.self) {
                _ = try PKIMessage.decode(garbage, ra: try Self.makeRAOnce())
            }
        }
    }

    private static let sharedRA = Result { try makeRA().identity }
    static func makeRAOnce() throws -> RAIdentity { try sharedRA.get() }

    @Test func opensslCommandLineVerifiesAndDecryptsACertRep() async throws {
        let ra = try Self.makeRA()
        let device = try TestDevice(challenge: "pass")
        let request = try device.pkcsReq(ra: ra.leaf.certificateDER, cipher: .aes256)
        guard case .message(let message) = try PKIMessage.decode(request, ra: ra.identity) else {
            Issue.record("refused")
            return
        }
        let issued = try TestPKI.makeLeaf(commonName: "device-1", issuer: ra.ca)
        let reply = try CertRep.success(
            certificates: [issued.certificateDER, ra.ca.certificateDER], answering: message.header,
            recipient: message.signerCertificate, cipher: message.cipher, ra: ra.identity)
        let directory = try Shell.temporaryDirectory()
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try Shell.write(reply, to: directory.appendingPathComponent("certrep.der"))
        try device.signer.certificatePEM.write(toFile: path("device.pem"), atomically: true, encoding: .utf8)
        try device.signer.keyPEM.write(toFile: path("device.key"), atomically: true, encoding: .utf8)
        try ra.ca.certificatePEM.write(toFile: path("ca.pem"), atomically: true, encoding: .utf8)

        let verify = try await Shell.openssl(
            "cms", "-verify", "-inform", "DER", "-in", path("certrep.der"), "-CAfile", path("ca.pem"),
            "-purpose", "any", "-binary", "-out", path("envelope.der"))
        #expect(verify.status == 0, "\(verify.stderr)")
        let decrypt = try await Shell.openssl(
            "cms", "-decrypt", "-inform", "DER", "-in", path("envelope.der"), "-recip", path("device.pem"), "-inkey",
            path("device.key"), "-binary", "-out", path("degenerate.der"))
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        let certificates = try await Shell.openssl("pkcs7", "-inform", "DER", "-in", path("degenerate.der"), "-print_certs", "-noout")
        #expect(certificates.status == 0)
        let subjects = certificates.stdout.split(separator: "\n").filter { $0.hasPrefix("subject=") }
        #expect(subjects == ["subject=CN = device-1", "subject=CN = Test CA"])
    }

    @Test func degenerateSignedDataListsCertificatesInOrderForOpenSSL() async throws {
        let ca = try TestPKI.makeCA(commonName: "First")
        let second = try TestPKI.makeLeaf(commonName: "Second", issuer: ca)
        let directory = try Shell.temporaryDirectory()
        let file = directory.appendingPathComponent("bundle.p7b")
        try Shell.write(try DegenerateSignedData.encode(certificates: [ca.certificateDER, second.certificateDER]), to: file)
        let printed = try await Shell.openssl("pkcs7", "-inform", "DER", "-in", file.path, "-print_certs", "-noout")
        #expect(printed.status == 0)
        #expect(printed.stdout.split(separator: "\n").filter { $0.hasPrefix("subject=") } == ["subject=CN = First", "subject=CN = Second"])
    }

    @Test func issuerAndSerialRoundTrips() throws {
        let ca = try TestPKI.makeCA()
        let value = IssuerAndSerial(issuer: ca.certificate.subject, serialNumber: ca.certificate.serialNumber)
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        #expect(try IssuerAndSerial(derEncoded: serializer.serializedBytes) == value)
    }
}
