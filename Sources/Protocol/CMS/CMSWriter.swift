#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who a CertRep's EnvelopedData is for: the requester's certificate as CMS
/// names it, and its RSA key.
struct CMSRecipient: Sendable {
    var issuerAndSerialNumber: [UInt8]
    let key: OpenSSLKey

    init(_ certificate: CertificateFields, key: OpenSSLKey) {
        self.issuerAndSerialNumber = certificate.issuerAndSerialNumber
        self.key = key
    }

    /// Nil for a certificate that is not RSA or not read by `CertificateFields`.
    init?(certificate der: [UInt8]) {
        guard let fields = CertificateFields(der: der), let keyBytes = fields.rsaPublicKey,
            let key = CMSPrimitives.rsaPublicKey(keyBytes)
        else { return nil }
        self.init(fields, key: key)
    }
}

/// Writes the two CMS messages of a CertRep in Swift, DER, in the form
/// OpenSSL's `CMS_encrypt` and `CMS_sign` give them; OpenSSL does only the
/// RSA, digest and cipher operations (`CMSPrimitives`).
enum CMSWriter {
    /// An EnvelopedData (RFC 5652 §6) of `content` for `recipient`: a fresh
    /// content key and IV, the key in RSA PKCS #1 v1.5.
    static func envelopedData(_ content: [UInt8], to recipient: CMSRecipient, cipher: ContentCipher) throws -> [UInt8] {
        var key = SystemRandom.bytes(cipher.keyLength)
        if cipher == .des || cipher == .tripleDES { key = key.map(oddParity) }
        let iv = SystemRandom.bytes(cipher.ivLength)
        let encryptedContent = try CMSPrimitives.crypt(content[...], .encrypt, cipher: cipher, key: key, iv: iv[...])
        let encryptedKey = try CMSPrimitives.wrapKey(key, to: recipient.key)
        let recipientInfo = DERTag.tlv(
            DERTag.sequence,
            integer(0),
            recipient.issuerAndSerialNumber,
            algorithm(CMSObject.rsaEncryption, parameters: DERTag.tlv(DERTag.null)),
            DERTag.tlv(DERTag.octetString, encryptedKey))
        let encryptedContentInfo = DERTag.tlv(
            DERTag.sequence,
            oid(CMSObject.data),
            algorithm(cipher.oid, parameters: DERTag.tlv(DERTag.octetString, iv)),
            DERTag.tlv(DERTag.contextPrimitive0, encryptedContent))
        let enveloped = DERTag.tlv(DERTag.sequence, integer(0), DERTag.tlv(DERTag.set, recipientInfo), encryptedContentInfo)
        return DERTag.tlv(DERTag.sequence, oid(CMSObject.envelopedData), DERTag.tlv(DERTag.context(0), enveloped))
    }

    /// A SignedData (RFC 5652 §5) of `content` (nil: none, as in FAILURE and
    /// PENDING CertReps, whose digest is over nothing), signed by `signer`
    /// with `attributes` among its signed attributes, beside contentType,
    /// signingTime and messageDigest; the signer's certificate included.
    static func signedData(
        _ content: [UInt8], signer: CertificateKeyPair, signerID: [UInt8], digest: DigestAlgorithm,
        attributes: [(CMSCodec.Attribute, [UInt8])], now: Int = time(nil)
    ) throws -> [UInt8] {
        guard let messageDigest = CMSPrimitives.digest(content[...], digest) else {
            throw OpenSSL.Failure("hashing the CertRep's content with \(digest.rawValue)")
        }
        var signed = [
            attribute(CMSObject.contentType, oid(CMSObject.data)),
            attribute(CMSObject.signingTime, utcTime(now)),
            attribute(CMSObject.messageDigest, DERTag.tlv(DERTag.octetString, messageDigest)),
        ]
        for (scep, value) in attributes { signed.append(attribute(scep.oid, DERTag.tlv(scep.tag, value))) }
        // DER orders a SET OF by its elements' encodings (X.690 §11.6).
        signed.sort { $0.lexicographicallyPrecedes($1) }
        let signature = try CMSPrimitives.sign(DERTag.tlv(DERTag.set, joining: signed), digest: digest, key: signer.key)

        let digestAlgorithm = algorithm(digest.oid, parameters: nil)
        let signerInfo = DERTag.tlv(
            DERTag.sequence,
            integer(1),
            signerID,
            digestAlgorithm,
            DERTag.tlv(DERTag.context(0), joining: signed),
            algorithm(CMSObject.rsaEncryption, parameters: DERTag.tlv(DERTag.null)),
            DERTag.tlv(DERTag.octetString, signature))
        let encapsulated = DERTag.tlv(
            DERTag.sequence, oid(CMSObject.data), DERTag.tlv(DERTag.context(0), DERTag.tlv(DERTag.octetString, content)))
        let signedData = DERTag.tlv(
            DERTag.sequence,
            integer(1),
            DERTag.tlv(DERTag.set, digestAlgorithm),
            encapsulated,
            DERTag.tlv(DERTag.context(0), signer.certificate),
            DERTag.tlv(DERTag.set, signerInfo))
        return DERTag.tlv(DERTag.sequence, oid(CMSObject.signedData), DERTag.tlv(DERTag.context(0), signedData))
    }

    private static func oid(_ content: [UInt8]) -> [UInt8] { DERTag.tlv(DERTag.objectIdentifier, content) }

    /// A small non-negative INTEGER.
    private static func integer(_ value: UInt8) -> [UInt8] { DERTag.tlv(DERTag.integer, [value]) }

    private static func algorithm(_ identifier: [UInt8], parameters: [UInt8]?) -> [UInt8] {
        DERTag.tlv(DERTag.sequence, oid(identifier), parameters ?? [])
    }

    /// Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF ANY } with one value.
    private static func attribute(_ type: [UInt8], _ value: [UInt8]) -> [UInt8] {
        DERTag.tlv(DERTag.sequence, oid(type), DERTag.tlv(DERTag.set, value))
    }

    /// UTCTime YYMMDDHHMMSSZ of seconds since 1970 (RFC 5652 §11.3: UTCTime for 1950 through 2049).
    static func utcTime(_ seconds: Int) -> [UInt8] {
        let time = CivilTime(secondsSince1970: seconds)
        var text: [UInt8] = []
        text.reserveCapacity(13)
        CivilTime.append(time.year % 100, digits: 2, to: &text)
        CivilTime.append(time.month, digits: 2, to: &text)
        CivilTime.append(time.day, digits: 2, to: &text)
        CivilTime.append(time.hour, digits: 2, to: &text)
        CivilTime.append(time.minute, digits: 2, to: &text)
        CivilTime.append(time.second, digits: 2, to: &text)
        text.append(UInt8(ascii: "Z"))
        return DERTag.tlv(DERTag.utcTime, text)
    }

    /// A DES key byte with odd parity, as DES keys are defined (FIPS 46-3).
    private static func oddParity(_ byte: UInt8) -> UInt8 {
        let high = byte & 0xFE
        return high.nonzeroBitCount % 2 == 0 ? high | 1 : high
    }
}
