import COpenSSL
import SwiftASN1
import X509

/// A decoded SCEP request (RFC 8894 §3.2): signed by the requester, its
/// pkcsPKIEnvelope decrypted with the RA key.
public struct PKIMessage: Sendable {
    /// What every CertRep answering this request echoes.
    public struct Header: Sendable, Hashable {
        public var messageType: MessageType
        public var transactionID: String
        public var senderNonce: [UInt8]
        /// The requester's digest; the CertRep is signed with it too.
        public var digest: DigestAlgorithm

        public init(messageType: MessageType, transactionID: String, senderNonce: [UInt8], digest: DigestAlgorithm) {
            self.messageType = messageType
            self.transactionID = transactionID
            self.senderNonce = senderNonce
            self.digest = digest
        }
    }

    /// The decrypted content, by message type.
    public enum Content: Sendable {
        /// PKCSReq and RenewalReq.
        case certificationRequest(CertificationRequest)
        /// CertPoll (GetCertInitial).
        case issuerAndSubject(IssuerAndSubject)
        /// GetCert and GetCRL.
        case issuerAndSerial(IssuerAndSerial)
    }

    public var header: Header
    /// DER of the certificate that signed the request (self-signed for a
    /// first enrollment, the current certificate for a renewal).
    public var signerCertificate: [UInt8]
    /// The same certificate as a CertRep's recipient (nil when not RSA), so
    /// the CertRep need not read it again.
    let recipient: CMSRecipient?
    public var cipher: ContentCipher
    public var keyTransport: KeyTransport
    public var content: Content

    /// The result of decoding: a message, or a refusal that is still answered
    /// with a signed FAILURE CertRep because the header was readable.
    public enum Decoded: Sendable {
        case message(PKIMessage)
        case refused(Header, Refusal, signerCertificate: [UInt8]?)
    }

    /// Bytes that are not a SCEP PKIMessage at all: answered with HTTP 400.
    public struct NotAPKIMessage: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Decodes, verifies and decrypts a PKIMessage with the profile's RA.
    public static func decode(_ der: [UInt8], ra: RAIdentity) throws(NotAPKIMessage) -> Decoded {
        let signed: CMSCodec.SignedData
        do {
            signed = try CMSCodec.readSignedData(der)
        } catch {
            throw NotAPKIMessage(reason: error.reason)
        }
        guard let typeBytes = signed.attributes[.messageType], let typeNumber = Int(String(decoding: typeBytes, as: UTF8.self)) else {
            throw NotAPKIMessage(reason: "SignedData has no SCEP messageType attribute")
        }
        guard let transactionBytes = signed.attributes[.transactionID], !transactionBytes.isEmpty,
            transactionBytes.count <= 256
        else {
            throw NotAPKIMessage(reason: "SignedData has no usable SCEP transactionID attribute")
        }
        let transactionID = String(decoding: transactionBytes, as: UTF8.self)
        guard let senderNonce = signed.attributes[.senderNonce], !senderNonce.isEmpty, senderNonce.count <= 64 else {
            throw NotAPKIMessage(reason: "SignedData has no usable SCEP senderNonce attribute")
        }
        let digest = DigestAlgorithm(nid: signed.digestNID)
        guard let messageType = MessageType(rawValue: typeNumber), messageType != .certRep else {
            let header = Header(messageType: .pkcsReq, transactionID: transactionID, senderNonce: senderNonce, digest: digest ?? .sha256)
            return .refused(header, Refusal(.malformed, "unsupported SCEP messageType \(typeNumber)"), signerCertificate: signed.signerCertificate)
        }
        let header = Header(messageType: messageType, transactionID: transactionID, senderNonce: senderNonce, digest: digest ?? .sha256)
        func refuse(_ outcome: Outcome, _ reason: String) -> Decoded {
            .refused(header, Refusal(outcome, reason), signerCertificate: signed.signerCertificate)
        }

        guard digest != nil else {
            let name = OBJ_nid2sn(signed.digestNID).map { String(cString: $0) } ?? "unknown"
            return refuse(.unsupportedAlgorithm, "signer digest \(name) is not supported")
        }
        if let failure = signed.signatureFailure {
            return refuse(.badMessageCheck, "PKIMessage signature does not verify: \(failure)")
        }
        guard let signerCertificate = signed.signerCertificate else {
            return refuse(.badMessageCheck, "the signer's certificate is not in the PKIMessage")
        }
        return open(signed.content, header: header, signerCertificate: signerCertificate, signer: signed.signer, ra: ra)
    }

    /// The second half of ``decode(_:ra:)``, once the signature holds: the
    /// pkcsPKIEnvelope's algorithms, its decryption and the content. Callable
    /// alone so a fuzzer reaches decryption without forging a signature.
    package static func open(_ envelope: [UInt8], header: Header, signerCertificate: [UInt8], ra: RAIdentity) -> Decoded {
        open(envelope, header: header, signerCertificate: signerCertificate, signer: nil, ra: ra)
    }

    static func open(
        _ envelope: [UInt8], header: Header, signerCertificate: [UInt8], signer: CMSRecipient?, ra: RAIdentity
    ) -> Decoded {
        switch decrypt(envelope, ra: ra) {
        case .opened(let cipher, let keyTransport, let plaintext):
            return read(
                plaintext, header: header, signerCertificate: signerCertificate, signer: signer, cipher: cipher, keyTransport: keyTransport)
        case .refused(let outcome, let reason):
            return .refused(header, Refusal(outcome, reason), signerCertificate: signerCertificate)
        }
    }

    private enum Opened {
        case opened(ContentCipher, KeyTransport, [UInt8])
        case refused(Outcome, String)
    }

    /// The pkcsPKIEnvelope's algorithms and content. A DER envelope of the
    /// usual shape, addressed to one of the RA's decryption pairs by its
    /// bytes, is read in Swift (`CMSReader`); anything else by OpenSSL's CMS.
    private static func decrypt(_ envelope: [UInt8], ra: RAIdentity) -> Opened {
        var found: (pair: RAIdentity.Pair, parsed: CMSReader.EnvelopedData)?
        for pair in ra.decryptionPairs {
            if let recipient = pair.issuerAndSerialNumber, let parsed = CMSReader.envelopedData(envelope, for: recipient) {
                found = (pair, parsed)
                break
            }
        }
        guard let (pair, parsed) = found.flatMap({ CMSPrimitives.canCrypt($0.parsed.cipher) ? $0 : nil }) else {
            return decryptWithOpenSSL(envelope, ra: ra)
        }
        // From here the answer is final: a second reader's extra time would
        // tell a bad key padding from a bad content.
        let key = CMSPrimitives.unwrapKey(parsed.encryptedKey, key: pair.key, length: parsed.cipher.keyLength)
        do {
            let plaintext = try CMSPrimitives.crypt(parsed.encryptedContent, .decrypt, cipher: parsed.cipher, key: key, iv: parsed.iv)
            return .opened(parsed.cipher, .rsaPKCS1, plaintext)
        } catch {
            return .refused(.badMessageCheck, "the pkcsPKIEnvelope does not decrypt: \(error)")
        }
    }

    /// The pkcsPKIEnvelope read and decrypted by OpenSSL's CMS: anything
    /// `CMSReader` steps aside for.
    private static func decryptWithOpenSSL(_ envelope: [UInt8], ra: RAIdentity) -> Opened {
        func refuse(_ outcome: Outcome, _ reason: String) -> Opened { .refused(outcome, reason) }
        // The envelope: check the algorithms first so an unsupported one gets badAlg.
        guard let algorithms = CMSCodec.envelopeAlgorithms(envelope) else {
            return refuse(.badMessageCheck, "the signed content is not a pkcsPKIEnvelope (EnvelopedData)")
        }
        guard let cipher = ContentCipher(nid: algorithms.cipherNID) else {
            let name = OBJ_nid2sn(algorithms.cipherNID).map { String(cString: $0) } ?? "unknown"
            return refuse(.unsupportedAlgorithm, "content cipher \(name) is not supported")
        }
        let keyTransport: KeyTransport
        switch algorithms.keyTransportNID {
        case NID_rsaEncryption: keyTransport = .rsaPKCS1
        case NID_rsaesOaep: keyTransport = .rsaOAEP
        default:
            let name = OBJ_nid2sn(algorithms.keyTransportNID).map { String(cString: $0) } ?? "unknown"
            return refuse(.unsupportedAlgorithm, "key transport \(name) is not supported")
        }
        var others: (named: [[UInt8]], count: Int) = ([], 0)
        for pair in ra.decryptionPairs {
            do {
                let plaintext = try CMSCodec.decrypt(envelope, key: pair.key, certificate: pair.openSSLCertificate)
                return .opened(cipher, keyTransport, plaintext)
            } catch {
                switch error {
                case .notEnveloped:
                    return refuse(.badMessageCheck, "the signed content is not a pkcsPKIEnvelope (EnvelopedData)")
                case .notForThisRecipient(let named, let count):
                    others = (named, count)
                    continue
                case .failed(let detail):
                    if cipher == .des && !OpenSSL.legacyAvailable {
                        return refuse(.unsupportedAlgorithm, "single DES needs OpenSSL's legacy provider, which is not installed")
                    }
                    return refuse(.badMessageCheck, "the pkcsPKIEnvelope does not decrypt: \(detail)")
                }
            }
        }
        return refuse(.badMessageCheck, notForTheRA(others: others.named.map { $0[...] }, count: others.count, ra: ra))
    }

    /// Why an envelope with `count` recipients, among them `others`
    /// (IssuerAndSerialNumbers, DER, as OpenSSL read them), is refused,
    /// naming at most three: a client that
    /// encrypts to the CA certificate, or to an RA certificate the profile
    /// no longer has, is told apart by its operator.
    private static func notForTheRA(others: [ArraySlice<UInt8>], count: Int, ra: RAIdentity) -> String {
        func name(_ der: ArraySlice<UInt8>) -> String? {
            guard let named = try? IssuerAndSerial(derEncoded: der) else { return nil }
            return "serial \(named.serialNumber.hexString) issued by \(named.issuer)"
        }
        var reason = "the pkcsPKIEnvelope is not encrypted to this profile's RA certificate"
        if let own = ra.encryption.issuerAndSerialNumber.flatMap({ name($0[...]) }) { reason += " (\(own))" }
        let named = others.prefix(3).compactMap(name)
        guard !named.isEmpty else { return reason }
        reason += " but to \(named.joined(separator: "; "))"
        if count > named.count { reason += " and \(count - named.count) more" }
        if ra.encryption.certificate == ra.signing.certificate {
            reason += ": if that is the CA certificate, point the client at the RA certificate (a fingerprint it pins, too), "
                + "or, for a client that encrypts only to a certificate with keyEncipherment alone, "
                + "split the RA (RA_ENCRYPTION_CERT_PATH, docs/scep.md)"
        }
        return reason
    }

    /// The decrypted content, read as its message type says.
    private static func read(
        _ plaintext: [UInt8], header: Header, signerCertificate: [UInt8], signer: CMSRecipient?, cipher: ContentCipher,
        keyTransport: KeyTransport
    ) -> Decoded {
        let messageType = header.messageType
        func refuse(_ outcome: Outcome, _ reason: String) -> Decoded {
            .refused(header, Refusal(outcome, reason), signerCertificate: signerCertificate)
        }
        let content: Content
        switch messageType {
        case .pkcsReq, .renewalReq:
            do {
                content = .certificationRequest(try CertificationRequest(derEncoded: plaintext))
            } catch {
                return .refused(header, error, signerCertificate: signerCertificate)
            }
        case .certPoll:
            guard let value = try? IssuerAndSubject(derEncoded: plaintext) else {
                return refuse(.malformed, "CertPoll content is not an IssuerAndSubject")
            }
            content = .issuerAndSubject(value)
        case .getCert, .getCRL:
            guard let value = try? IssuerAndSerial(derEncoded: plaintext) else {
                return refuse(.malformed, "\(messageType.name) content is not an IssuerAndSerialNumber")
            }
            content = .issuerAndSerial(value)
        case .certRep:
            return refuse(.malformed, "a CertRep is not a request")
        }
        return .message(
            PKIMessage(
                header: header, signerCertificate: signerCertificate, recipient: signer,
                cipher: cipher, keyTransport: keyTransport, content: content)
        )
    }
}
