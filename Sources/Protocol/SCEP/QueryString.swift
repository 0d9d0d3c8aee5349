/// Raw query-string access: SCEP clients send base64 with and without
/// escaping, so values are taken as sent and decoded by the caller.
package struct QueryString {
    private var pairs: [(key: Substring, value: Substring)] = []

    package init(_ query: String) {
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = part.firstIndex(of: "=") {
                pairs.append((part[..<equals], part[part.index(after: equals)...]))
            } else {
                pairs.append((part, ""))
            }
        }
    }

    /// The first raw (still percent-encoded) value of `key`, compared case-insensitively.
    package func rawValue(for key: String) -> String? {
        let lowered = key.lowercased()
        return pairs.first(where: { $0.key.lowercased() == lowered }).map { String($0.value) }
    }

    /// Decodes `%XX` escapes; leaves `+` alone (it is base64, not a space)
    /// and keeps malformed escapes as they are.
    package static func percentDecode(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hex(utf8[index + 1]), let low = hex(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
