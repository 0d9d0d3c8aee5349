import Foundation

/// Characters a log line must never carry raw: with them, a value taken from
/// a request (a transactionID, a profile name from a URL, a CSR subject)
/// could end the line and forge the next one, or hide text from a reader.
enum LogEscaping {
    /// C0 controls (CR, LF, TAB, ESC, …), DEL, C1 controls (NEL among them),
    /// the Unicode line and paragraph separators, and bidirectional controls.
    static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `text` with `\n`, `\r`, `\t` and `\u{..}` (hex) in place of every
    /// character `mustEscape` names, and `\\` for a backslash, so an escape
    /// sequence in the log always means an escaped character.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { mustEscape($0) || $0 == "\\" }) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": result.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": result.append(contentsOf: #"\t"#.unicodeScalars)
            case "\\": result.append(contentsOf: #"\\"#.unicodeScalars)
            case _ where mustEscape(scalar):
                result.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    /// A metadata value for a `key=value` text line: bare when that is
    /// unambiguous, otherwise in double quotes with `\"` inside, so a value
    /// holding ` outcome=success` cannot pass for another field.
    static func textValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || mustEscape($0) }
        guard needsQuotes else { return value }
        return "\"" + escaped(value).replacingOccurrences(of: "\"", with: #"\""#) + "\""
    }

    /// `text` as a JSON string literal, quotes included. Besides what JSON
    /// requires, every character `mustEscape` names is written `\uXXXX`, so a
    /// reader that splits on U+2028 or NEL still sees one line.
    static func jsonString(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        result.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result.append(contentsOf: #"\""#.unicodeScalars)
            case "\\": result.append(contentsOf: #"\\"#.unicodeScalars)
            case "\n": result.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": result.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": result.append(contentsOf: #"\t"#.unicodeScalars)
            case _ where mustEscape(scalar):
                let hex = String(scalar.value, radix: 16)
                result.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default: result.append(scalar)
            }
        }
        result.append("\"")
        return String(result)
    }
}
