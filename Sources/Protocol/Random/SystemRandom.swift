import Foundation

/// Random bytes and identifiers from the kernel's CSPRNG: `getrandom(2)`
/// through `SystemRandomNumberGenerator`, eight bytes a call.
///
/// Nothing here needs a file descriptor. Foundation's `UUID()` does: on
/// Linux it opens `/dev/urandom` each time and, when no descriptor is free,
/// returns 00000000-0000-4000-8000-000000000000 without a word. Audit
/// events are keyed by their id and a repeated id is dropped as already
/// seen, so under descriptor exhaustion every audit record after the first
/// would be lost. Use `SystemRandom.uuid()` wherever an id must be unique.
package enum SystemRandom {
    /// `count` bytes.
    package static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var word: UInt64 = 0
        return (0..<count).map { index in
            if index % 8 == 0 { word = generator.next() }
            return UInt8(truncatingIfNeeded: word >> (8 * UInt64(index % 8)))
        }
    }

    /// A version 4 (random) UUID, RFC 9562 §5.4.
    package static func uuid() -> UUID {
        var b = bytes(16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    /// `uuid()` as lower-case text, the form audit records and request ids use.
    package static func identifier() -> String {
        uuid().uuidString.lowercased()
    }
}
