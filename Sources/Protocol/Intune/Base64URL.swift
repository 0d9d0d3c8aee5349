/// Strict base64url (RFC 4648 §5): JWS segments, and the GetCRL request the
/// internal API's CRL route carries.
///
/// Both the padded and the unpadded form are accepted, because Connectors and
/// proxies differ. Everything else is refused: characters outside the
/// base64url alphabet (including `+` and `/`), wrong padding, and non-zero
/// trailing bits. Refusing the last keeps the encoding canonical, so one
/// signature has exactly one unpadded spelling.
enum Base64URL {
    /// Unpadded base64url: base64's digits with `-` and `_` for `+` and `/`.
    static func encode(_ bytes: [UInt8]) -> String {
        String(
            Base64.encode(bytes).compactMap { character -> Character? in
                switch character {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: character
                }
            })
    }

    /// Decodes one segment; nil when it is not canonical base64url.
    static func decode(_ text: Substring.UTF8View) -> [UInt8]? {
        var body = text[...]
        var padding = 0
        while body.last == UInt8(ascii: "="), padding < 2 {
            body = body.dropLast()
            padding += 1
        }
        let remainder = body.count % 4
        switch (remainder, padding) {
        case (0, 0), (2, 0), (3, 0), (2, 2), (3, 1):
            break
        default:
            return nil
        }

        var output: [UInt8] = []
        output.reserveCapacity(body.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in body {
            guard let value = sextet(byte) else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Leftover bits must be zero, or two spellings would decode alike.
        guard accumulator == 0 else { return nil }
        return output
    }

    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
