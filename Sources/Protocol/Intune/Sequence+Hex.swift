import Crypto

extension Sequence where Element == UInt8 {
    /// These bytes as lowercase hexadecimal, two digits each.
    package var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(self.underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// SHA-256 of a text's UTF-8, as lowercase hex: replay keys and CSR fingerprints.
package enum SHA256Hex {
    package static func of(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).lowercaseHex }
    package static func of(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).lowercaseHex }
}
