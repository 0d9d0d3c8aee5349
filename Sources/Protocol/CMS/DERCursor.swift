/// Reads DER one TLV at a time over the bytes it was given, copying nothing.
///
/// Strict: a high tag number, an indefinite length or a length not in its
/// shortest form is a failure (nil), so a caller that needs plain DER can
/// step aside for anything else (BER goes to OpenSSL's reader). Only
/// single-byte identifiers are read: every field CMS walks has one.
struct DERCursor {
    private(set) var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }

    var isAtEnd: Bool { rest.isEmpty }

    /// The identifier octet of the next TLV, nil at the end.
    var nextTag: UInt8? { rest.first }

    /// The next TLV whole (header and content) and its content; nil when it
    /// does not parse, or when `tag` is given and the next one is not it.
    mutating func read(_ tag: UInt8? = nil) -> (whole: ArraySlice<UInt8>, content: ArraySlice<UInt8>)? {
        var index = rest.startIndex
        guard index < rest.endIndex else { return nil }
        let identifier = rest[index]
        guard identifier & 0x1F != 0x1F, tag == nil || identifier == tag else { return nil }
        index += 1
        guard index < rest.endIndex else { return nil }
        let first = rest[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let octets = Int(first & 0x7F)
            // 0x80 is BER's indefinite length; more than 4 octets is more than any message here.
            guard octets >= 1, octets <= 4, rest.endIndex - index >= octets, rest[index] != 0 else { return nil }
            for _ in 0..<octets {
                length = length << 8 | Int(rest[index])
                index += 1
            }
            guard length >= 0x80 else { return nil }  // the short form would have done
        }
        guard rest.endIndex - index >= length else { return nil }
        let content = rest[index..<(index + length)]
        let whole = rest[rest.startIndex..<content.endIndex]
        rest = rest[content.endIndex...]
        return (whole, content)
    }

    /// The content of the next TLV, which must carry `tag`.
    mutating func content(_ tag: UInt8) -> ArraySlice<UInt8>? { read(tag)?.content }

    /// A cursor over the content of the next TLV, which must carry `tag`.
    mutating func enter(_ tag: UInt8) -> DERCursor? { content(tag).map(DERCursor.init) }

    /// The next TLV when it carries `tag`; nothing read otherwise.
    mutating func optional(_ tag: UInt8) -> ArraySlice<UInt8>? {
        nextTag == tag ? content(tag) : nil
    }
}

/// The identifier octets CMS uses, and how a TLV is written.
enum DERTag {
    static let integer: UInt8 = 0x02
    static let bitString: UInt8 = 0x03
    static let octetString: UInt8 = 0x04
    static let null: UInt8 = 0x05
    static let objectIdentifier: UInt8 = 0x06
    static let utcTime: UInt8 = 0x17
    static let printableString: UInt8 = 0x13
    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
    /// [n] IMPLICIT or EXPLICIT over a constructed type, and [0] over a primitive one.
    static func context(_ number: UInt8) -> UInt8 { 0xA0 | number }
    static let contextPrimitive0: UInt8 = 0x80

    /// A TLV of `tag` around the concatenation of `parts`.
    static func tlv(_ tag: UInt8, _ parts: [UInt8]...) -> [UInt8] { tlv(tag, joining: parts) }

    static func tlv(_ tag: UInt8, joining parts: [[UInt8]]) -> [UInt8] {
        let length = parts.reduce(0) { $0 + $1.count }
        var out: [UInt8] = []
        out.reserveCapacity(length + 6)
        out.append(tag)
        if length < 0x80 {
            out.append(UInt8(length))
        } else {
            var octets: [UInt8] = []
            var remaining = length
            while remaining > 0 {
                octets.insert(UInt8(remaining & 0xFF), at: 0)
                remaining >>= 8
            }
            out.append(0x80 | UInt8(octets.count))
            out.append(contentsOf: octets)
        }
        for part in parts { out.append(contentsOf: part) }
        return out
    }
}
