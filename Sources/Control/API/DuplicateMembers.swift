/// Finds a member name given twice in one JSON object. Foundation's decoder
/// keeps one of them silently, so `{"dryRun":false,"dryRun":true}` would be
/// read as whatever it kept, while other parsers keep the other; the admin API
/// refuses such a body instead. Names are compared as JSON reads them
/// (`"dry\u0052un"` is `dryRun`). Input that is not JSON answers nil: the
/// decoder then says what is wrong with it. Bodies are at most 4 KiB.
enum DuplicateMembers {
    /// The first name given twice, as a dotted path (`selector.profile`), or nil.
    static func first(in bytes: some Collection<UInt8>) -> String? {
        var scanner = Scanner(bytes: Array(bytes))
        return scanner.value(path: [])
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        /// Set when the input is not JSON, or nests deeper than `maximumDepth`: scanning stops and finds nothing.
        var broken = false
        var depth = 0
        /// Far beyond any admin API body, and a bound on this recursion's stack.
        static let maximumDepth = 32

        init(bytes: [UInt8]) { self.bytes = bytes }

        /// Scans one value; returns a duplicate found inside it.
        mutating func value(path: [String]) -> String? {
            skipSpace()
            guard index < bytes.count, !broken else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < Self.maximumDepth else { return fail() }
                depth += 1
                defer { depth -= 1 }
                return bytes[index] == UInt8(ascii: "{") ? object(path: path) : array(path: path)
            case UInt8(ascii: "\""):
                _ = string()
                return nil
            default:
                // A number, true, false or null: up to the next delimiter.
                while index < bytes.count, !Self.delimiters.contains(bytes[index]) { index += 1 }
                return nil
            }
        }

        private static let delimiters: Set<UInt8> = [UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D]

        private mutating func object(path: [String]) -> String? {
            index += 1
            var names: Set<String> = []
            skipSpace()
            if consume(UInt8(ascii: "}")) { return nil }
            while !broken {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let name = string() else { return fail() }
                if !names.insert(name).inserted { return (path + [String(name.prefix(64))]).joined(separator: ".") }
                skipSpace()
                guard consume(UInt8(ascii: ":")) else { return fail() }
                if let duplicate = value(path: path + [name]) { return duplicate }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "}")) ? nil : fail()
            }
            return nil
        }

        private mutating func array(path: [String]) -> String? {
            index += 1
            skipSpace()
            if consume(UInt8(ascii: "]")) { return nil }
            while !broken {
                if let duplicate = value(path: path) { return duplicate }
                skipSpace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "]")) ? nil : fail()
            }
            return nil
        }

        /// A string at `index` (its opening quote), unescaped; nil when it is not valid.
        private mutating func string() -> String? {
            index += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flush() {
                units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16)
                raw.removeAll()
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(decoding: units, as: UTF16.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return fail() }
                    let escape = bytes[index]
                    index += 1
                    flush()
                    switch escape {
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                        else { return fail() }
                        index += 4
                        units.append(unit)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): units.append(UInt16(escape))
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0C)
                    case UInt8(ascii: "n"): units.append(0x0A)
                    case UInt8(ascii: "r"): units.append(0x0D)
                    case UInt8(ascii: "t"): units.append(0x09)
                    default: return fail()
                    }
                default:
                    raw.append(byte)
                }
            }
            return fail()
        }

        private mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        private mutating func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func fail<T>() -> T? {
            broken = true
            return nil
        }
    }
}
