import SwiftASN1

/// CSR signature algorithms that SCEP clients use and OpenSSL verifies but
/// swift-certificates refuses to parse: RSASSA-PSS (strongSwan's
/// `--rsa-padding pss`), sha224WithRSAEncryption and ecdsa-with-SHA224.
///
/// The request's contents (subject, key, attributes) do not depend on the
/// algorithm that signed them, so such a CSR is read through a copy whose
/// outer signatureAlgorithm names a stand-in swift-certificates knows. The
/// copy is only ever read; the self-signature is verified by OpenSSL on the
/// bytes as sent, with the algorithm and parameters they state.
enum CSRStandInAlgorithm {
    static let rsassaPSS: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 10]
    static let sha224WithRSAEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 1, 14]
    static let ecdsaWithSHA224: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 1]

    /// AlgorithmIdentifier sha256WithRSAEncryption with NULL parameters.
    private static let rsaStandIn: [UInt8] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ]
    /// AlgorithmIdentifier ecdsa-with-SHA256, no parameters.
    private static let ecdsaStandIn: [UInt8] = [0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]

    /// The CSR with a stand-in signatureAlgorithm, when it is signed with one
    /// of the algorithms above; nil otherwise (or when it is not a CSR).
    static func readableCopy(of der: [UInt8]) -> [UInt8]? {
        guard let root = try? DER.parse(der), case .constructed(let parts) = root.content else { return nil }
        var iterator = parts.makeIterator()
        guard let info = iterator.next(), let algorithm = iterator.next(), let signature = iterator.next(), iterator.next() == nil,
            case .constructed(let algorithmParts) = algorithm.content, let oidNode = algorithmParts.first(where: { _ in true }),
            let oid = try? ASN1ObjectIdentifier(derEncoded: oidNode)
        else { return nil }
        let standIn: [UInt8]
        switch oid {
        case rsassaPSS, sha224WithRSAEncryption: standIn = rsaStandIn
        case ecdsaWithSHA224: standIn = ecdsaStandIn
        default: return nil
        }
        let content = Array(info.encodedBytes) + standIn + Array(signature.encodedBytes)
        return [0x30] + derLength(content.count) + content
    }

    private static func derLength(_ length: Int) -> [UInt8] {
        if length < 0x80 { return [UInt8(length)] }
        var bytes: [UInt8] = []
        var remaining = length
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xff), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}
