/// Builds CertRep messages (RFC 8894 §3.3.2): signed by the RA, echoing the
/// request's transactionID, with recipientNonce = the request's senderNonce
/// and a fresh senderNonce.
public enum CertRep {
    /// A SUCCESS CertRep carrying `certificates` (the issued one first, then
    /// its chain) and `crls`, encrypted to `recipient` with `cipher`.
    public static func success(
        certificates: [[UInt8]],
        crls: [[UInt8]] = [],
        answering header: PKIMessage.Header,
        recipient: [UInt8],
        cipher: ContentCipher,
        ra: RAIdentity,
        senderNonce: [UInt8] = freshNonce()
    ) throws -> [UInt8] {
        let degenerate = try DegenerateSignedData.encode(certificates: certificates, crls: crls)
        let envelope = try envelope(degenerate, to: CMSRecipient(certificate: recipient), certificate: recipient, cipher: cipher)
        return try sign(envelope, status: .success, failInfo: nil, header: header, ra: ra, senderNonce: senderNonce)
    }

    /// A SUCCESS CertRep answering `request`: encrypted to its signer with
    /// the cipher it used (the signer is not parsed again).
    public static func success(
        certificates: [[UInt8]], crls: [[UInt8]] = [], answering request: PKIMessage, ra: RAIdentity,
        senderNonce: [UInt8] = freshNonce()
    ) throws -> [UInt8] {
        let degenerate = try DegenerateSignedData.encode(certificates: certificates, crls: crls)
        let envelope = try envelope(degenerate, to: request.recipient, certificate: request.signerCertificate, cipher: request.cipher)
        return try sign(envelope, status: .success, failInfo: nil, header: request.header, ra: ra, senderNonce: senderNonce)
    }

    /// A FAILURE CertRep with `failInfo`.
    public static func failure(
        _ failInfo: FailInfo,
        answering header: PKIMessage.Header,
        ra: RAIdentity,
        senderNonce: [UInt8] = freshNonce()
    ) throws -> [UInt8] {
        try sign([], status: .failure, failInfo: failInfo, header: header, ra: ra, senderNonce: senderNonce)
    }

    /// A PENDING CertRep: the requester polls with CertPoll.
    public static func pending(
        answering header: PKIMessage.Header,
        ra: RAIdentity,
        senderNonce: [UInt8] = freshNonce()
    ) throws -> [UInt8] {
        try sign([], status: .pending, failInfo: nil, header: header, ra: ra, senderNonce: senderNonce)
    }

    /// 16 random bytes from the system CSPRNG.
    public static func freshNonce() -> [UInt8] {
        SystemRandom.bytes(16)
    }

    /// The EnvelopedData for the requester: written in Swift to an RSA
    /// recipient, by OpenSSL's CMS to any other.
    private static func envelope(_ content: [UInt8], to recipient: CMSRecipient?, certificate: [UInt8], cipher: ContentCipher) throws -> [UInt8] {
        if let recipient { return try CMSWriter.envelopedData(content, to: recipient, cipher: cipher) }
        return try CMSCodec.encrypt(content, to: try OpenSSLCertificate(derEncoded: certificate), cipher: cipher)
    }

    /// FAILURE and PENDING sign an empty content: present, zero octets, as
    /// EJBCA's and micromdm's servers write it. A detached SignedData (no
    /// content at all) is refused by OpenSSL's `PKCS7_verify`, which
    /// certmonger's SCEP helper calls without detached data.
    private static func sign(
        _ content: [UInt8],
        status: PKIStatus,
        failInfo: FailInfo?,
        header: PKIMessage.Header,
        ra: RAIdentity,
        senderNonce: [UInt8]
    ) throws -> [UInt8] {
        var attributes: [(CMSCodec.Attribute, [UInt8])] = [
            (.transactionID, Array(header.transactionID.utf8)),
            (.messageType, Array(String(MessageType.certRep.rawValue).utf8)),
            (.pkiStatus, Array(String(status.rawValue).utf8)),
            (.senderNonce, senderNonce),
            (.recipientNonce, header.senderNonce),
        ]
        if let failInfo {
            attributes.append((.failInfo, Array(String(failInfo.rawValue).utf8)))
        }
        if let signerID = ra.signing.issuerAndSerialNumber {
            return try CMSWriter.signedData(content, signer: ra.signing, signerID: signerID, digest: header.digest, attributes: attributes)
        }
        return try CMSCodec.sign(
            content,
            certificate: ra.signing.openSSLCertificate,
            key: ra.signing.key,
            digest: header.digest,
            attributes: attributes
        )
    }
}
