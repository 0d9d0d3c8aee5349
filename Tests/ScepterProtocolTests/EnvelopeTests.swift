import Testing
@testable import ScepterProtocol

@Suite("EnvelopedData made by openssl cms -encrypt", .timeLimit(.minutes(5)))
struct EnvelopeTests {
    static func ra() throws -> CertificateKeyPair {
        try CertificateKeyPair(certificatePEM: try Fixture.text("ra-cert.pem"), keyPEM: try Fixture.text("ra-key.pem"))
    }

    @Test(arguments: [
        ("env-des.der", ContentCipher.des, KeyTransport.rsaPKCS1),
        ("env-des3.der", .tripleDES, .rsaPKCS1),
        ("env-aes128.der", .aes128, .rsaPKCS1),
        ("env-aes192.der", .aes192, .rsaPKCS1),
        ("env-aes256.der", .aes256, .rsaPKCS1),
        ("env-aes128-oaep.der", .aes128, .rsaOAEP),
        ("env-aes256-oaep-sha256.der", .aes256, .rsaOAEP),
    ])
    func decryptsEveryCipherAndKeyTransport(file: String, cipher: ContentCipher, transport: KeyTransport) throws {
        let envelope = try Fixture.bytes(file)
        let algorithms = try #require(CMSCodec.envelopeAlgorithms(envelope))
        #expect(ContentCipher(nid: algorithms.cipherNID) == cipher)
        let ra = try Self.ra()
        let plaintext = try CMSCodec.decrypt(envelope, key: ra.key, certificate: ra.openSSLCertificate)
        #expect(plaintext == (try Fixture.bytes("csr-full.der")))
        _ = transport
    }

    @Test func envelopeForSomeoneElseIsNotForThisRecipient() throws {
        let ra = try Self.ra()
        #expect(throws: CMSCodec.DecryptError.self) {
            try CMSCodec.decrypt(try Fixture.bytes("env-other.der"), key: ra.key, certificate: ra.openSSLCertificate)
        }
    }

    @Test func raPairRefusesMismatchedOrWeakKeys() throws {
        #expect(throws: CertificateKeyPair.LoadError.self) {
            try CertificateKeyPair(certificatePEM: try Fixture.text("ra-cert.pem"), keyPEM: try Fixture.text("other-key.pem"))
        }
        #expect(throws: CertificateKeyPair.LoadError.self) {
            try CertificateKeyPair(certificatePEM: try Fixture.text("ra-cert.pem"), keyPEM: try Fixture.text("ec-key.pem"))
        }
        #expect(throws: CertificateKeyPair.LoadError.self) {
            try CertificateKeyPair(certificatePEM: "not pem", keyPEM: try Fixture.text("ra-key.pem"))
        }
    }

    @Test(arguments: ["signed-data.der", "signed-data-sha1.der", "signed-data-sha512.der"])
    func signedDataFromOpenSSLVerifies(file: String) throws {
        let signed = try CMSCodec.readSignedData(try Fixture.bytes(file))
        #expect(signed.signatureFailure == nil)
        #expect(signed.content == (try Fixture.bytes("env-aes128.der")))
        #expect(signed.signerCertificate != nil)
    }

    @Test func signedDataWithATamperedContentFailsVerification() throws {
        var bytes = try Fixture.bytes("signed-data.der")
        let envelope = try Fixture.bytes("env-aes128.der")
        // Flip a byte inside the encapsulated content (the envelope's last byte).
        let start = try #require(bytes.firstRange(of: envelope))
        bytes[start.upperBound - 1] ^= 0xFF
        let signed = try CMSCodec.readSignedData(bytes)
        #expect(signed.signatureFailure != nil)
    }

    @Test func signedDataWithoutSCEPAttributesIsNotAPKIMessage() throws {
        #expect(throws: PKIMessage.NotAPKIMessage.self) {
            try PKIMessage.decode(try Fixture.bytes("signed-data.der"), ra: RAIdentity(try Self.ra()))
        }
    }
}
