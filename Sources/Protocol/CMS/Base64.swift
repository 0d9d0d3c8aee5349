/// Base64 without Foundation, tolerant of what SCEP clients put in URLs.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        // base64url digits decode to the same values.
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        // Read once: a static's accessor in the loop costs a swift_once call per character.
        let alphabet = Self.alphabet
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            var value = UInt32(bytes[index]) << 16
            if remaining == 2 { value |= UInt32(bytes[index + 1]) << 8 }
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(remaining == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes standard or URL-safe base64, with or without padding, ignoring
    /// whitespace (and a space, which is what an unescaped `+` becomes in a
    /// query string, is read as `+`). Returns nil for anything else.
    public static func decode(_ text: String, spaceIsPlus: Bool = false) -> [UInt8]? {
        let reverse = Self.reverse
        var output = [UInt8]()
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var sawPadding = false
        for character in text.utf8 {
            var character = character
            if character == UInt8(ascii: " ") && spaceIsPlus { character = UInt8(ascii: "+") }
            if character == UInt8(ascii: "=") {
                sawPadding = true
                continue
            }
            if character == UInt8(ascii: "\n") || character == UInt8(ascii: "\r") || character == UInt8(ascii: " ")
                || character == UInt8(ascii: "\t")
            {
                continue
            }
            // Data after padding is not base64.
            if sawPadding { return nil }
            let value = reverse[Int(character)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A single leftover sextet cannot encode a byte.
        if bits >= 6 { return nil }
        return output
    }
}
