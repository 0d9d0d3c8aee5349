/// Reads the two CMS messages a SCEP request is made of, a SignedData around
/// an EnvelopedData, in Swift when they are plain DER of the shape every
/// SCEP client sends; OpenSSL does only the RSA, digest and cipher
/// operations (`CMSPrimitives`).
///
/// Each reader is strict and says nil for anything else: BER, another
/// signer or recipient form, an algorithm it does not take, an attribute
/// OpenSSL checks beyond the signature, a signer not found by its bytes, a
/// signature that does not verify. `CMSCodec` then reads the message with
/// OpenSSL's CMS, which gives the verdict and the reason. So this path only
/// ever accepts what OpenSSL accepts, and refuses nothing itself.
enum CMSReader {
    /// A SignedData whose first signer's signature holds.
    struct VerifiedSignedData {
        var signer: CertificateFields
        /// The signer's RSA key, as the signature was verified with it.
        var signerKey: OpenSSLKey
        var digest: DigestAlgorithm
        var attributes: [CMSCodec.Attribute: [UInt8]]
        var content: ArraySlice<UInt8>
    }

    /// Reads and verifies a DER SignedData ContentInfo (RFC 5652 §5) with
    /// encapsulated data and a first SignerInfo named by issuer and serial
    /// number, with signed attributes, signed with RSA PKCS #1 v1.5 by a
    /// certificate in the message.
    static func verifiedSignedData(_ der: [UInt8]) -> VerifiedSignedData? {
        var top = DERCursor(der[...])
        guard var contentInfo = top.enter(DERTag.sequence), top.isAtEnd,
            contentInfo.content(DERTag.objectIdentifier)?.elementsEqual(CMSObject.signedData) == true,
            var explicit = contentInfo.enter(DERTag.context(0)), contentInfo.isAtEnd,
            var signedData = explicit.enter(DERTag.sequence), explicit.isAtEnd,
            signedData.read(DERTag.integer) != nil, signedData.read(DERTag.set) != nil,
            var encapsulated = signedData.enter(DERTag.sequence),
            encapsulated.content(DERTag.objectIdentifier)?.elementsEqual(CMSObject.data) == true,
            var eContent = encapsulated.enter(DERTag.context(0)), encapsulated.isAtEnd,
            let content = eContent.content(DERTag.octetString), eContent.isAtEnd
        else { return nil }

        var certificates: [CertificateFields] = []
        if var set = signedData.optional(DERTag.context(0)).map(DERCursor.init) {
            while !set.isAtEnd {
                guard let certificate = set.read(DERTag.sequence), let fields = CertificateFields(der: certificate.whole) else { return nil }
                certificates.append(fields)
            }
        }
        _ = signedData.optional(DERTag.context(1))  // CRLs: not read
        guard var signerInfos = signedData.enter(DERTag.set), signedData.isAtEnd,
            var signerInfo = signerInfos.enter(DERTag.sequence),
            signerInfo.content(DERTag.integer)?.elementsEqual([1]) == true,
            var signerID = signerInfo.enter(DERTag.sequence),
            let signerIssuer = signerID.read(DERTag.sequence), let signerSerial = signerID.read(DERTag.integer), signerID.isAtEnd,
            let digest = algorithm(&signerInfo).flatMap(DigestAlgorithm.init(oid:)),
            let signedAttributes = signerInfo.read(DERTag.context(0)),
            let signatureAlgorithm = algorithm(&signerInfo),
            signatureAlgorithm.elementsEqual(CMSObject.rsaEncryption) || CMSObject.rsaSignatures.contains(where: { signatureAlgorithm.elementsEqual($0) }),
            let signature = signerInfo.content(DERTag.octetString), signerInfo.isAtEnd,
            let read = attributes(signedAttributes.content),
            let signer = certificates.first(where: {
                $0.serialNumber.elementsEqual(signerSerial.whole) && $0.issuer.elementsEqual(signerIssuer.whole)
            }),
            let keyBytes = signer.rsaPublicKey, let key = CMSPrimitives.rsaPublicKey(keyBytes),
            CMSPrimitives.digest(content, digest)?.elementsEqual(read.messageDigest) == true
        else { return nil }
        // The signature is over the attributes' DER with the SET OF tag in place of [0] IMPLICIT.
        let signed = [DERTag.set] + signedAttributes.whole.dropFirst()
        guard CMSPrimitives.verify(signature, over: signed[...], digest: digest, key: key) else { return nil }
        return VerifiedSignedData(signer: signer, signerKey: key, digest: digest, attributes: read.scep, content: content)
    }

    /// An AlgorithmIdentifier's OID, its parameters absent or NULL.
    private static func algorithm(_ cursor: inout DERCursor) -> ArraySlice<UInt8>? {
        guard var identifier = cursor.enter(DERTag.sequence), let oid = identifier.content(DERTag.objectIdentifier) else { return nil }
        if identifier.nextTag == DERTag.null { guard identifier.content(DERTag.null)?.isEmpty == true else { return nil } }
        return identifier.isAtEnd ? oid : nil
    }

    /// The ASN.1 string types a SCEP attribute's value is read from, as
    /// OpenSSL's reader takes them (`scepter_X509_ATTRIBUTE_string`).
    private static let stringTags: Set<UInt8> = [0x04, 0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E]

    /// The SCEP attributes and the messageDigest; nil when the attributes
    /// break a rule OpenSSL checks (RFC 5652 §11: exactly one contentType of
    /// id-data and one messageDigest, at most one signingTime) or hold one
    /// OpenSSL checks against more than the signature (countersignatures,
    /// S/MIME's ESS attributes).
    private static func attributes(_ bytes: ArraySlice<UInt8>) -> (scep: [CMSCodec.Attribute: [UInt8]], messageDigest: ArraySlice<UInt8>)? {
        var cursor = DERCursor(bytes)
        var scep: [CMSCodec.Attribute: [UInt8]] = [:]
        var seen: Set<CMSCodec.Attribute> = []
        var contentTypes = 0
        var signingTimes = 0
        var messageDigest: ArraySlice<UInt8>?
        var messageDigests = 0
        while !cursor.isAtEnd {
            guard var attribute = cursor.enter(DERTag.sequence), let oid = attribute.content(DERTag.objectIdentifier),
                var valueSet = attribute.enter(DERTag.set), attribute.isAtEnd
            else { return nil }
            var values: [(tag: UInt8, content: ArraySlice<UInt8>)] = []
            while !valueSet.isAtEnd {
                guard let tag = valueSet.nextTag, let value = valueSet.read() else { return nil }
                values.append((tag, value.content))
            }
            if oid.elementsEqual(CMSObject.contentType) {
                contentTypes += 1
                guard values.count == 1, values[0].tag == DERTag.objectIdentifier, values[0].content.elementsEqual(CMSObject.data) else { return nil }
            } else if oid.elementsEqual(CMSObject.messageDigest) {
                messageDigests += 1
                guard values.count == 1, values[0].tag == DERTag.octetString else { return nil }
                messageDigest = values[0].content
            } else if oid.elementsEqual(CMSObject.signingTime) {
                signingTimes += 1
                guard values.count == 1 else { return nil }
            } else if oid.elementsEqual(CMSObject.countersignature) || oid.starts(with: CMSObject.smime) {
                return nil
            } else if let known = CMSCodec.Attribute(oid: oid), !seen.contains(known) {
                // The first attribute of a type counts, and its first value if that is a string.
                seen.insert(known)
                if let first = values.first, stringTags.contains(first.tag) { scep[known] = Array(first.content) }
            }
        }
        guard contentTypes == 1, messageDigests == 1, signingTimes <= 1, let messageDigest else { return nil }
        return (scep, messageDigest)
    }

    /// An EnvelopedData (RFC 5652 §6) as SCEP sends it: key transport to
    /// certificates named by issuer and serial number, content in CBC.
    struct EnvelopedData {
        var cipher: ContentCipher
        var iv: ArraySlice<UInt8>
        var encryptedContent: ArraySlice<UInt8>
        /// The RSA PKCS #1 v1.5 encrypted content key of the recipient asked for.
        var encryptedKey: ArraySlice<UInt8>
    }

    /// Reads a DER EnvelopedData ContentInfo for the recipient whose
    /// IssuerAndSerialNumber is `recipient` (DER); nil when it is not of the
    /// shape above, not addressed to that recipient byte for byte, or its
    /// key transport to it is not RSA PKCS #1 v1.5.
    static func envelopedData(_ der: [UInt8], for recipient: [UInt8]) -> EnvelopedData? {
        var top = DERCursor(der[...])
        guard var contentInfo = top.enter(DERTag.sequence), top.isAtEnd,
            contentInfo.content(DERTag.objectIdentifier)?.elementsEqual(CMSObject.envelopedData) == true,
            var explicit = contentInfo.enter(DERTag.context(0)), contentInfo.isAtEnd,
            var enveloped = explicit.enter(DERTag.sequence), explicit.isAtEnd,
            enveloped.read(DERTag.integer) != nil,
            var recipientInfos = enveloped.enter(DERTag.set),
            var encryptedContentInfo = enveloped.enter(DERTag.sequence), enveloped.isAtEnd,
            encryptedContentInfo.content(DERTag.objectIdentifier)?.elementsEqual(CMSObject.data) == true,
            var cipherAlgorithm = encryptedContentInfo.enter(DERTag.sequence),
            let cipher = cipherAlgorithm.content(DERTag.objectIdentifier).flatMap(ContentCipher.init(oid:)),
            let iv = cipherAlgorithm.content(DERTag.octetString), cipherAlgorithm.isAtEnd, iv.count == cipher.ivLength,
            let encryptedContent = encryptedContentInfo.content(DERTag.contextPrimitive0), encryptedContentInfo.isAtEnd
        else { return nil }
        while !recipientInfos.isAtEnd {
            // KeyTransRecipientInfo ::= SEQUENCE { version, rid, keyEncryptionAlgorithm, encryptedKey }
            guard var info = recipientInfos.enter(DERTag.sequence), info.content(DERTag.integer)?.elementsEqual([0]) == true,
                let recipientID = info.read(DERTag.sequence)
            else { return nil }
            guard recipientID.whole.elementsEqual(recipient) else { continue }
            guard let transport = algorithm(&info), transport.elementsEqual(CMSObject.rsaEncryption),
                let encryptedKey = info.content(DERTag.octetString), info.isAtEnd
            else { return nil }
            return EnvelopedData(cipher: cipher, iv: iv, encryptedContent: encryptedContent, encryptedKey: encryptedKey)
        }
        return nil
    }
}
