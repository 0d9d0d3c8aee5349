import SwiftASN1

/// Re-sorts SET OF elements into DER order.
///
/// Real clients (Go's crypto/x509 among them) write a CSR's attributes in
/// insertion order, which swift-certificates' strict DER parser refuses.
/// Sorting does not change any length, so only the contents move. The
/// self-signature is verified on the bytes as sent, never on this copy.
enum CanonicalDER {
    static func sortingSets(_ der: [UInt8]) throws -> [UInt8] {
        let root = try DER.parse(der)
        return Array(canonical(root))
    }

    private static func canonical(_ node: ASN1Node) -> ArraySlice<UInt8> {
        guard case .constructed(let children) = node.content else { return node.encodedBytes }
        var parts = children.map { canonical($0) }
        let isSet = node.identifier == .set
            || (node.identifier.tagClass == .contextSpecific && node.identifier.tagNumber == 0)
        if isSet { parts.sort(by: derLess) }
        let contentLength = parts.reduce(0) { $0 + $1.count }
        let header = node.encodedBytes.prefix(node.encodedBytes.count - contentLength)
        return header + parts.joined()
    }

    /// X.690 §11.6: compare as octet strings, the shorter padded with zeros.
    private static func derLess(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        for (a, b) in zip(lhs, rhs) where a != b { return a < b }
        return lhs.count < rhs.count
    }
}
