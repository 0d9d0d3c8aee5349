/// What CMS needs of a certificate, read from its DER without parsing the
/// rest: its issuer and serial number (the IssuerAndSerialNumber that names
/// a signer or a recipient) and, for an RSA key, the key.
///
/// Why not OpenSSL: OpenSSL 3.0 builds a provider decoder context for every
/// public key it parses (75–125 µs per enrollment on the benchmark machine),
/// where the RSAPublicKey read the legacy way (`d2i_PublicKey`) costs a
/// hundredth of that.
struct CertificateFields: Sendable {
    /// The whole certificate, DER.
    var der: ArraySlice<UInt8>
    /// The issuer Name and the serialNumber INTEGER, each a whole DER TLV.
    var issuer: ArraySlice<UInt8>
    var serialNumber: ArraySlice<UInt8>
    /// The RSAPublicKey (PKCS #1) of an rsaEncryption key; nil for any other key.
    var rsaPublicKey: ArraySlice<UInt8>?

    /// IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER } (RFC 5652 §10.2.4).
    var issuerAndSerialNumber: [UInt8] { DERTag.tlv(DERTag.sequence, Array(issuer), Array(serialNumber)) }

    /// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }, with
    /// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    /// issuer, validity, subject, subjectPublicKeyInfo, … } (RFC 5280 §4.1).
    /// Nil when the bytes are not one DER certificate of that shape.
    init?(der: ArraySlice<UInt8>) {
        var outer = DERCursor(der)
        guard let whole = outer.read(DERTag.sequence), outer.isAtEnd else { return nil }
        var certificate = DERCursor(whole.content)
        guard var tbs = certificate.enter(DERTag.sequence) else { return nil }
        if tbs.nextTag == DERTag.context(0) { _ = tbs.read() }
        guard let serial = tbs.read(DERTag.integer), tbs.read(DERTag.sequence) != nil,
            let issuer = tbs.read(DERTag.sequence), tbs.read(DERTag.sequence) != nil, tbs.read(DERTag.sequence) != nil,
            var keyInfo = tbs.enter(DERTag.sequence), var algorithm = keyInfo.enter(DERTag.sequence),
            let algorithmID = algorithm.content(DERTag.objectIdentifier), let bits = keyInfo.content(DERTag.bitString),
            keyInfo.isAtEnd
        else { return nil }
        self.der = whole.whole
        self.issuer = issuer.whole
        self.serialNumber = serial.whole
        // A BIT STRING's first octet counts its unused bits: 0 for a DER key.
        if algorithmID.elementsEqual(CMSObject.rsaEncryption), bits.first == 0 {
            rsaPublicKey = bits.dropFirst()
        } else {
            rsaPublicKey = nil
        }
    }

    init?(der: [UInt8]) { self.init(der: der[...]) }
}
