/// The requester's side of SCEP: building PKIMessages and reading CertReps.
///
/// The server never needs this; tests, benchmarks and health probes do.
public enum SCEPClient {
    /// Builds a PKIMessage: `content` (a CSR, IssuerAndSubject or
    /// IssuerAndSerial, DER) encrypted to `recipient`, signed by `signer`.
    public static func request(
        _ messageType: MessageType,
        content: [UInt8],
        transactionID: String,
        senderNonce: [UInt8] = CertRep.freshNonce(),
        recipient: [UInt8],
        cipher: ContentCipher = .aes128,
        keyTransport: KeyTransport = .rsaPKCS1,
        signer: CertificateKeyPair,
        digest: DigestAlgorithm = .sha256
    ) throws -> [UInt8] {
        let envelope = try CMSCodec.encrypt(
            content, to: try OpenSSLCertificate(derEncoded: recipient), cipher: cipher, keyTransport: keyTransport)
        return try CMSCodec.sign(
            envelope, certificate: signer.openSSLCertificate, key: signer.key, digest: digest,
            attributes: [
                (.messageType, Array(String(messageType.rawValue).utf8)),
                (.transactionID, Array(transactionID.utf8)),
                (.senderNonce, senderNonce),
            ])
    }

    /// A CertRep as the requester sees it.
    public struct Reply: Sendable {
        public var status: PKIStatus
        public var failInfo: FailInfo?
        public var transactionID: String
        public var senderNonce: [UInt8]
        public var recipientNonce: [UInt8]
        /// DER of the certificate that signed the CertRep.
        public var signerCertificate: [UInt8]
        /// SUCCESS only: the certificates, the issued one first, and CRLs.
        public var certificates: [[UInt8]]
        public var crls: [[UInt8]]
    }

    public struct ReplyError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Verifies and decrypts a CertRep with the requester's pair.
    public static func readReply(_ der: [UInt8], requester: CertificateKeyPair) throws -> Reply {
        let signed: CMSCodec.SignedData
        do {
            signed = try CMSCodec.readSignedData(der)
        } catch {
            throw ReplyError(description: error.reason)
        }
        if let failure = signed.signatureFailure { throw ReplyError(description: failure) }
        guard let signerCertificate = signed.signerCertificate,
            let statusText = signed.attributes[.pkiStatus].map({ String(decoding: $0, as: UTF8.self) }),
            let statusNumber = Int(statusText), let status = PKIStatus(rawValue: statusNumber),
            let transactionID = signed.attributes[.transactionID].map({ String(decoding: $0, as: UTF8.self) }),
            let senderNonce = signed.attributes[.senderNonce], let recipientNonce = signed.attributes[.recipientNonce],
            signed.attributes[.messageType].map({ String(decoding: $0, as: UTF8.self) }) == String(MessageType.certRep.rawValue)
        else {
            throw ReplyError(description: "CertRep lacks SCEP attributes")
        }
        let failInfo = signed.attributes[.failInfo].flatMap { Int(String(decoding: $0, as: UTF8.self)) }.flatMap(FailInfo.init(rawValue:))
        var certificates: [[UInt8]] = []
        var crls: [[UInt8]] = []
        if status == .success {
            let degenerate: [UInt8]
            do {
                degenerate = try CMSCodec.decrypt(signed.content, key: requester.key, certificate: requester.openSSLCertificate)
            } catch {
                throw ReplyError(description: "CertRep envelope does not decrypt with the requester's key: \(error)")
            }
            (certificates, crls) = try CMSCodec.certificatesAndCRLs(of: degenerate)
        }
        return Reply(
            status: status, failInfo: failInfo, transactionID: transactionID, senderNonce: senderNonce,
            recipientNonce: recipientNonce, signerCertificate: signerCertificate, certificates: certificates, crls: crls)
    }
}
