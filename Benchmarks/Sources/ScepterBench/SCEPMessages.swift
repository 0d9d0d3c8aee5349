import CBenchOpenSSL
import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A device about to enroll: a transient RSA-2048 key, its self-signed signer
/// certificate and a PKCS#10 request with the challenge (the shape the
/// project's TestPKI builds, and what real SCEP clients send).
struct Device: @unchecked Sendable {
    // @unchecked: immutable after init.
    let commonName: String
    /// PKCS#1 DER of the private key.
    let keyDER: [UInt8]
    let key: PKey
    let signer: X509Cert
    let csr: [UInt8]

    /// `keyDER`: a PKCS#1 RSA-2048 private key to reuse (see --key-cache);
    /// nil generates a fresh one.
    init(commonName: String, challenge: String, keyDER: [UInt8]? = nil) throws {
        let rsa = try keyDER.map { try _RSA.Signing.PrivateKey(derRepresentation: $0) } ?? _RSA.Signing.PrivateKey(keySize: .bits2048)
        let privateKey = Certificate.PrivateKey(rsa)
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: privateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions { Critical(KeyUsage(digitalSignature: true, keyEncipherment: true)) },
            issuerPrivateKey: privateKey)
        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(.init(oid: [1, 2, 840, 113549, 1, 9, 7], values: [try ASN1Any(erasing: ASN1UTF8String(challenge))]))
        let request = try CertificateSigningRequest(
            version: .v1, subject: name, privateKey: privateKey, attributes: attributes,
            signatureAlgorithm: .sha256WithRSAEncryption)

        self.commonName = commonName
        self.keyDER = Array(rsa.derRepresentation)
        self.key = try PKey(privateKeyDER: self.keyDER)
        self.signer = try X509Cert(derEncoded: Self.der(certificate))
        self.csr = try Self.der(request)
    }

    private static func der(_ value: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}

/// A pre-built PKCSReq and what its CertRep must echo.
struct Enrollment: Sendable {
    let device: Device
    let transactionID: String
    let senderNonce: [UInt8]
    let body: [UInt8]
}

enum SCEPMessages {
    /// A PKCSReq PKIMessage (RFC 8894 §3.2): the CSR in an AES-128-CBC
    /// EnvelopedData to the RA (RSA PKCS#1 v1.5 key transport), in a SignedData
    /// signed with SHA-256 by the device's self-signed certificate.
    static func pkcsReq(device: Device, ra: X509Cert, transactionID: String, senderNonce: [UInt8]) throws -> [UInt8] {
        let flags = UInt32(CMS_BINARY)
        let recipients = try CertStack([ra])
        let envelope = try OpenSSLLib.withReadBIO(device.csr) { CMS_encrypt(recipients.pointer, $0, EVP_aes_128_cbc(), flags) }
        guard let envelope else { throw OpenSSLError("CMS_encrypt") }
        defer { CMS_ContentInfo_free(envelope) }
        let envelopeDER = try OpenSSLLib.encode("an EnvelopedData") { i2d_CMS_ContentInfo(envelope, $0) }

        let signFlags = UInt32(CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP)
        guard let signed = CMS_sign(nil, nil, nil, nil, signFlags) else { throw OpenSSLError("CMS_sign") }
        defer { CMS_ContentInfo_free(signed) }
        guard let signerInfo = CMS_add1_signer(signed, device.signer.pointer, device.key.pointer, EVP_sha256(), signFlags) else {
            throw OpenSSLError("CMS_add1_signer")
        }
        let oids = SCEPOIDs.shared
        let attributes: [(OpaquePointer, Int32, [UInt8])] = [
            (oids.messageType, V_ASN1_PRINTABLESTRING, Array("19".utf8)),  // PKCSReq
            (oids.transactionID, V_ASN1_PRINTABLESTRING, Array(transactionID.utf8)),
            (oids.senderNonce, V_ASN1_OCTET_STRING, senderNonce),
        ]
        for (oid, type, value) in attributes {
            let added = value.withUnsafeBytes { CMS_signed_add1_attr_by_OBJ(signerInfo, oid, type, $0.baseAddress, Int32($0.count)) }
            guard added == 1 else { throw OpenSSLError("adding a SCEP attribute") }
        }
        try OpenSSLLib.withReadBIO(envelopeDER) { data in
            guard CMS_final(signed, data, nil, signFlags) == 1 else { throw OpenSSLError("CMS_final") }
        }
        return try OpenSSLLib.encode("a SignedData") { i2d_CMS_ContentInfo(signed, $0) }
    }

    /// The certificates of GetCACert's degenerate SignedData.
    static func certificates(ofDegenerate der: [UInt8]) throws -> [X509Cert] {
        guard let cms = OpenSSLLib.decode(der, { d2i_CMS_ContentInfo(nil, $0, $1) }) else {
            throw OpenSSLError("parsing a degenerate SignedData")
        }
        defer { CMS_ContentInfo_free(cms) }
        guard let stack = CMS_get1_certs(cms) else { return [] }
        return CertStack(takingOwnershipOf: stack).certificates
    }

    /// A CertRep's SCEP attributes, read without verifying or decrypting.
    struct ReplyHeader {
        var messageType: String?
        var pkiStatus: String?
        var failInfo: String?
        var transactionID: String?
        var recipientNonce: [UInt8]?
    }

    static func header(ofReply der: [UInt8]) throws -> ReplyHeader {
        guard let cms = OpenSSLLib.decode(der, { d2i_CMS_ContentInfo(nil, $0, $1) }) else {
            throw OpenSSLError("the reply is not a CMS ContentInfo")
        }
        defer { CMS_ContentInfo_free(cms) }
        guard let infos = CMS_get0_SignerInfos(cms), bench_sk_CMS_SignerInfo_num(infos) >= 1,
            let signerInfo = bench_sk_CMS_SignerInfo_value(infos, 0)
        else { throw OpenSSLError("the reply has no SignerInfo") }
        let oids = SCEPOIDs.shared
        func text(_ oid: OpaquePointer) -> String? {
            bench_CMS_signed_attribute(signerInfo, oid).map { String(decoding: OpenSSLLib.bytes(of: $0), as: UTF8.self) }
        }
        return ReplyHeader(
            messageType: text(oids.messageType), pkiStatus: text(oids.pkiStatus), failInfo: text(oids.failInfo),
            transactionID: text(oids.transactionID),
            recipientNonce: bench_CMS_signed_attribute(signerInfo, oids.recipientNonce).map { OpenSSLLib.bytes(of: $0) })
    }

    /// The full check a device makes: the RA's signature verifies, the
    /// envelope decrypts with the device key, and the first certificate inside
    /// is the device's, signed by the CA.
    static func verifyReply(_ der: [UInt8], enrollment: Enrollment, ra: X509Cert, ca: X509Cert) throws {
        guard let cms = OpenSSLLib.decode(der, { d2i_CMS_ContentInfo(nil, $0, $1) }) else {
            throw OpenSSLError("the reply is not a CMS ContentInfo")
        }
        defer { CMS_ContentInfo_free(cms) }
        let trusted = try CertStack([ra])
        let envelope = try OpenSSLLib.collecting { out in
            guard CMS_verify(cms, trusted.pointer, nil, nil, out, UInt32(CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)) == 1 else {
                throw OpenSSLError("the CertRep's signature does not verify")
            }
        }
        guard let signers = CMS_get0_signers(cms) else { throw OpenSSLError("CMS_get0_signers") }
        let signerMatches = bench_sk_X509_num(signers) == 1 && bench_sk_X509_value(signers, 0).map { X509_cmp($0, ra.pointer) == 0 } == true
        sk_X509_free_shim(signers)
        guard signerMatches else { throw BenchError("the CertRep is not signed by the RA certificate from GetCACert") }

        guard let enveloped = OpenSSLLib.decode(envelope, { d2i_CMS_ContentInfo(nil, $0, $1) }) else {
            throw OpenSSLError("the CertRep content is not an EnvelopedData")
        }
        defer { CMS_ContentInfo_free(enveloped) }
        let degenerate = try OpenSSLLib.collecting { out in
            guard CMS_decrypt(enveloped, enrollment.device.key.pointer, enrollment.device.signer.pointer, nil, out, UInt32(CMS_BINARY)) == 1
            else { throw OpenSSLError("the CertRep envelope does not decrypt with the device key") }
        }
        let certificates = try certificates(ofDegenerate: degenerate)
        guard let issued = certificates.first else { throw BenchError("the CertRep carries no certificate") }
        guard issued.matches(privateKey: enrollment.device.key) else {
            throw BenchError("the first certificate of the CertRep is not for the device's key")
        }
        guard issued.isSigned(by: ca) else { throw BenchError("the issued certificate is not signed by the CA from GetCACert") }
    }
}

/// `sk_X509_free` without freeing the certificates (CMS_get0_signers' stack).
private func sk_X509_free_shim(_ stack: OpaquePointer) {
    OPENSSL_sk_free(stack)
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
