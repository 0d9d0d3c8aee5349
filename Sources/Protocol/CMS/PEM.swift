import Foundation

/// Minimal PEM reading and writing (RFC 7468), enough for certificates and keys.
public enum PEM {
    /// All blocks with `label` (e.g. "CERTIFICATE"), decoded, in file order.
    public static func blocks(in text: String, label: String) -> [[UInt8]] {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        var result: [[UInt8]] = []
        var remainder = Substring(text)
        while let start = remainder.range(of: begin) {
            guard let stop = remainder.range(of: end, range: start.upperBound..<remainder.endIndex) else { break }
            let body = remainder[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
            if let bytes = Base64.decode(String(body)) {
                result.append(bytes)
            }
            remainder = remainder[stop.upperBound...]
        }
        return result
    }

    public static func firstBlock(in text: String, label: String) -> [UInt8]? {
        blocks(in: text, label: label).first
    }

    /// Encodes DER as a PEM block with 64-character lines.
    public static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Base64.encode(der)
        var lines: [Substring] = []
        var index = base64.startIndex
        while index < base64.endIndex {
            let next = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(base64[index..<next])
            index = next
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }
}
