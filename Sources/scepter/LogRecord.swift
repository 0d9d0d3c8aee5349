import Foundation
import Glibc
import Logging

/// One log event, flattened to strings, before it is rendered as a line.
struct LogRecord: Sendable, Equatable {
    var time: Date
    var level: Logger.Level
    var label: String
    var message: String
    var source: String
    /// Every metadata value as a string; nested dictionaries flattened to
    /// dotted keys (`a.b`), lists kept as one string (`[x, y]`).
    var metadata: [String: String]

    init(time: Date, level: Logger.Level, label: String, message: String, source: String, metadata: Logger.Metadata) {
        self.time = time
        self.level = level
        self.label = label
        self.message = message
        self.source = source
        var flat: [String: String] = [:]
        Self.flatten(metadata, prefix: "", into: &flat)
        self.metadata = flat
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into flat: inout [String: String]) {
        for (key, value) in metadata {
            switch value {
            case .dictionary(let nested) where !nested.isEmpty:
                flatten(nested, prefix: prefix + key + ".", into: &flat)
            default:
                flat[prefix + key] = text(of: value)
            }
        }
    }

    /// A value as one string: lists as `[x, y]`, dictionaries as `[k: v]`, sorted.
    private static func text(of value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(text(of:)).joined(separator: ", ") + "]"
        case .dictionary(let entries):
            "[" + entries.sorted { $0.key < $1.key }.map { "\($0.key): \(text(of: $0.value))" }.joined(separator: ", ") + "]"
        }
    }

    /// The time in ISO 8601, UTC, with milliseconds: `2026-03-01T09:14:07.042Z`.
    var timestamp: String {
        // Whole milliseconds first, so 0.042 stored as 0.04199… still reads .042.
        let total = Int64((time.timeIntervalSince1970 * 1000).rounded())
        let milliseconds = total - (total / 1000 - (total % 1000 < 0 ? 1 : 0)) * 1000
        var whole = time_t((total - milliseconds) / 1000)
        var parts = tm()
        guard gmtime_r(&whole, &parts) != nil else { return "\(time.timeIntervalSince1970)" }
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }
}
