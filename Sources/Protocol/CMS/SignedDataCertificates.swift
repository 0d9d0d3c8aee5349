import SwiftASN1

/// A DER SignedData ContentInfo with its `certificates` field cut out, and
/// of each certificate what CMS needs of a signer: its issuer and serial
/// number (to match the SignerInfo) and, for RSA, its public key.
///
/// Why: OpenSSL 3.0 builds a provider decoder context for every public key
/// it parses, and `d2i_CMS_ContentInfo` parses the keys of every certificate
/// in the message. That is most of the cost of reading a PKIMessage that is
/// not RSA itself (about 75–125 µs per enrollment on the benchmark machine).
/// A message without its certificates, plus the signer's RSA key read the
/// legacy way (`d2i_PublicKey`), gives OpenSSL everything it checks, at a
/// hundredth of that.
///
/// Anything that is not plain DER of this shape (BER, trailing bytes,
/// certificates that are not X.509 v1–v3, non-RSA keys) is nil here, and the
/// caller reads the message the general way.
struct SignedDataCertificates {
    struct Certificate {
        /// The whole certificate, DER.
        var der: ArraySlice<UInt8>
        /// The issuer Name and the serialNumber INTEGER, DER.
        var issuer: ArraySlice<UInt8>
        var serialNumber: ArraySlice<UInt8>
        /// The RSAPublicKey (PKCS #1) of an rsaEncryption key; nil for any other key.
        var rsaPublicKey: ArraySlice<UInt8>?
    }

    /// The ContentInfo again, byte for byte, without the certificates field.
    var withoutCertificates: [UInt8]
    var certificates: [Certificate]

    private static let context0 = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

    init?(_ der: [UInt8]) {
        guard let contentInfo = try? DER.parse(der), contentInfo.identifier == .sequence,
            case .constructed(let outer) = contentInfo.content
        else { return nil }
        var outerNodes = outer.makeIterator()
        guard let type = outerNodes.next(), (try? ASN1ObjectIdentifier(derEncoded: type)) == DegenerateSignedData.signedDataOID,
            let explicit = outerNodes.next(), explicit.identifier == Self.context0, outerNodes.next() == nil,
            case .constructed(let wrapped) = explicit.content
        else { return nil }
        var wrappedNodes = wrapped.makeIterator()
        guard let signedData = wrappedNodes.next(), signedData.identifier == .sequence, wrappedNodes.next() == nil,
            case .constructed(let fields) = signedData.content
        else { return nil }

        var certificates: [Certificate] = []
        var kept: [ASN1Node] = []
        for field in fields {
            guard field.identifier == Self.context0 else {
                kept.append(field)
                continue
            }
            guard certificates.isEmpty, case .constructed(let choices) = field.content else { return nil }
            for choice in choices {
                guard let certificate = Self.certificate(choice) else { return nil }
                certificates.append(certificate)
            }
        }
        var coder = DER.Serializer()
        coder.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(type.encodedBytes)
            coder.appendConstructedNode(identifier: Self.context0) { coder in
                coder.appendConstructedNode(identifier: .sequence) { coder in
                    for field in kept { coder.serializeRawBytes(field.encodedBytes) }
                }
            }
        }
        self.withoutCertificates = coder.serializedBytes
        self.certificates = certificates
    }

    /// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }, with
    /// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    /// issuer, validity, subject, subjectPublicKeyInfo, … } (RFC 5280 §4.1).
    private static func certificate(_ node: ASN1Node) -> Certificate? {
        guard node.identifier == .sequence, case .constructed(let parts) = node.content,
            let tbs = parts.first(where: { _ in true }), tbs.identifier == .sequence, case .constructed(let tbsFields) = tbs.content
        else { return nil }
        var fields = Array(tbsFields)
        if fields.first?.identifier == context0 { fields.removeFirst() }
        guard fields.count >= 6, fields[0].identifier == .integer, fields[2].identifier == .sequence,
            fields[5].identifier == .sequence, case .constructed(let keyInfo) = fields[5].content
        else { return nil }
        let keyParts = Array(keyInfo)
        guard keyParts.count == 2, case .constructed(let algorithm) = keyParts[0].content,
            let algorithmID = algorithm.first(where: { _ in true }), keyParts[1].identifier == .bitString
        else { return nil }
        var rsaPublicKey: ArraySlice<UInt8>?
        if (try? ASN1ObjectIdentifier(derEncoded: algorithmID)) == .AlgorithmIdentifier.rsaEncryption,
            let bits = try? ASN1BitString(derEncoded: keyParts[1]), bits.paddingBits == 0
        {
            rsaPublicKey = bits.bytes
        }
        return Certificate(der: node.encodedBytes, issuer: fields[2].encodedBytes, serialNumber: fields[0].encodedBytes, rsaPublicKey: rsaPublicKey)
    }
}
