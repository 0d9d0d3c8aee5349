/// The object identifiers CMS and SCEP messages are read and written with,
/// as the content octets of their DER OBJECT IDENTIFIER.
enum CMSObject {
    private static let pkcs: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01]  // 1.2.840.113549.1
    private static let pkcs7 = pkcs + [0x07]
    private static let pkcs9 = pkcs + [0x09]

    static let data = pkcs7 + [0x01]
    static let signedData = pkcs7 + [0x02]
    static let envelopedData = pkcs7 + [0x03]

    static let rsaEncryption = pkcs + [0x01, 0x01]
    /// sha1-, sha256-, sha384-, sha512- and sha224WithRSAEncryption: some
    /// signers name their SignerInfo's signature algorithm so.
    static let rsaSignatures: [[UInt8]] = [0x05, 0x0B, 0x0C, 0x0D, 0x0E].map { pkcs + [0x01, $0] }

    static let contentType = pkcs9 + [0x03]
    static let messageDigest = pkcs9 + [0x04]
    static let signingTime = pkcs9 + [0x05]
    static let countersignature = pkcs9 + [0x06]
    /// 1.2.840.113549.1.9.16, S/MIME: ESS signing certificates, receipts.
    static let smime = pkcs9 + [0x10]

    /// 2.16.840.1.113733.1.9: the SCEP attributes (RFC 8894 §3.2.1).
    static let scepAttributes: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x86, 0xF8, 0x45, 0x01, 0x09]
}

/// A closed set of values, each named by one object identifier: found by it.
protocol IdentifiedByOID: CaseIterable {
    /// The object identifier, DER content octets.
    var oid: [UInt8] { get }
}

extension IdentifiedByOID {
    init?(oid: ArraySlice<UInt8>) {
        guard let found = Self.allCases.first(where: { oid.elementsEqual($0.oid) }) else { return nil }
        self = found
    }
}

extension CMSCodec.Attribute: IdentifiedByOID {
    /// The attribute's object identifier, DER content octets.
    var oid: [UInt8] {
        let last: UInt8 =
            switch self {
            case .messageType: 2
            case .pkiStatus: 3
            case .failInfo: 4
            case .senderNonce: 5
            case .recipientNonce: 6
            case .transactionID: 7
            }
        return CMSObject.scepAttributes + [last]
    }

    /// The identifier octet it is written with (RFC 8894 §3.2.1).
    var tag: UInt8 {
        switch self {
        case .senderNonce, .recipientNonce: DERTag.octetString
        default: DERTag.printableString
        }
    }
}

extension DigestAlgorithm: IdentifiedByOID {
    private static let nistHash: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02]  // 2.16.840.1.101.3.4.2

    /// The algorithm's object identifier, DER content octets.
    var oid: [UInt8] {
        switch self {
        case .sha1: [0x2B, 0x0E, 0x03, 0x02, 0x1A]
        case .sha256: Self.nistHash + [0x01]
        case .sha384: Self.nistHash + [0x02]
        case .sha512: Self.nistHash + [0x03]
        case .sha224: Self.nistHash + [0x04]
        }
    }
}

extension ContentCipher: IdentifiedByOID {
    private static let nistAES: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01]  // 2.16.840.1.101.3.4.1

    /// The algorithm's object identifier, DER content octets.
    var oid: [UInt8] {
        switch self {
        case .des: [0x2B, 0x0E, 0x03, 0x02, 0x07]
        case .tripleDES: [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x03, 0x07]
        case .aes128: Self.nistAES + [0x02]
        case .aes192: Self.nistAES + [0x16]
        case .aes256: Self.nistAES + [0x2A]
        }
    }

    var keyLength: Int {
        switch self {
        case .des: 8
        case .tripleDES: 24
        case .aes128: 16
        case .aes192: 24
        case .aes256: 32
        }
    }

    /// The CBC initialisation vector: the cipher's block.
    var ivLength: Int {
        switch self {
        case .des, .tripleDES: 8
        case .aes128, .aes192, .aes256: 16
        }
    }
}
