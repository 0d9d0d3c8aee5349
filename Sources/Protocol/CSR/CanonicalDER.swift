import SwiftASN1

/// Reads DER with its SET OF elements in DER order.
///
/// Real clients (Go's crypto/x509 among them) write a CSR's attributes in
/// insertion order, which swift-certificates' strict DER parser refuses.
/// Sorting does not change any length, so only the contents move. The
/// self-signature is verified on the bytes as sent, never on this copy.
enum CanonicalDER {
    /// The tree of `der`, sorted where a SET OF is out of order. A request
    /// already in DER order (most are) is parsed once and not copied.
    static func parseSortingSets(_ der: [UInt8]) throws -> ASN1Node {
        let root = try DER.parse(der)
        return isInOrder(root) ? root : try DER.parse(Array(canonical(root)))
    }

    private static func isInOrder(_ node: ASN1Node) -> Bool {
        guard case .constructed(let children) = node.content else { return true }
        let isSet = isSetOf(node)
        var previous: ArraySlice<UInt8>?
        for child in children {
            guard isInOrder(child) else { return false }
            if isSet, let previous, derLess(child.encodedBytes, previous) { return false }
            previous = child.encodedBytes
        }
        return true
    }

    private static func canonical(_ node: ASN1Node) -> ArraySlice<UInt8> {
        guard case .constructed(let children) = node.content else { return node.encodedBytes }
        var parts = children.map { canonical($0) }
        if isSetOf(node) { parts.sort(by: derLess) }
        let contentLength = parts.reduce(0) { $0 + $1.count }
        let header = node.encodedBytes.prefix(node.encodedBytes.count - contentLength)
        return header + parts.joined()
    }

    /// A SET, or the request's `[0]` attributes (a SET OF under an implicit tag).
    private static func isSetOf(_ node: ASN1Node) -> Bool {
        node.identifier == .set || (node.identifier.tagClass == .contextSpecific && node.identifier.tagNumber == 0)
    }

    /// X.690 §11.6: compare as octet strings, the shorter padded with zeros.
    private static func derLess(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        for (a, b) in zip(lhs, rhs) where a != b { return a < b }
        return lhs.count < rhs.count
    }
}
