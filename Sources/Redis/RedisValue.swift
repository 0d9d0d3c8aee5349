/// One RESP2 reply.
///
/// hiredis' reader does not tell a null array (`*-1`) from a null bulk string
/// (`$-1`), so both arrive as `.bulk(nil)`; `.array(nil)` exists for callers
/// that build values themselves.
package enum RedisValue: Sendable, Hashable {
    /// A status reply such as `OK` or `PONG`.
    case simple(String)
    /// An error reply. `RedisClient.send` throws a top-level error reply;
    /// this case appears nested in arrays (script results, `EXEC`).
    case error(String)
    case integer(Int64)
    /// A binary-safe bulk string; nil is the null reply (e.g. `GET` of a missing key).
    case bulk([UInt8]?)
    case array([RedisValue]?)
}

extension RedisValue {
    /// The bulk or status text as UTF-8 (invalid sequences repaired); nil otherwise.
    package var string: String? {
        switch self {
        case .simple(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk or status reply; nil otherwise.
    package var bytes: [UInt8]? {
        switch self {
        case .simple(let text): Array(text.utf8)
        case .bulk(let bytes): bytes
        default: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer.
    package var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes?): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of a non-null array reply.
    package var array: [RedisValue]? {
        if case .array(let elements?) = self { elements } else { nil }
    }

    /// Whether this is the null reply.
    package var isNull: Bool {
        switch self {
        case .bulk(nil), .array(nil): true
        default: false
        }
    }
}

extension RedisValue: CustomStringConvertible {
    /// redis-cli-like: `OK`, `(error) ERR …`, `(integer) 5`, `"text"`, `(nil)`, `[…]`;
    /// bulk strings that are not printable UTF-8 show as their length.
    package var description: String {
        switch self {
        case .simple(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulk(nil), .array(nil): return "(nil)"
        case .bulk(let bytes?):
            if let text = String(validating: bytes, as: UTF8.self),
                text.unicodeScalars.allSatisfy({ $0.properties.isPrintableForRedis })
            {
                return "\"\(text)\""
            }
            return "(\(bytes.count) bytes)"
        case .array(let elements?): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

extension Unicode.Scalar.Properties {
    fileprivate var isPrintableForRedis: Bool {
        switch generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: false
        default: true
        }
    }
}
