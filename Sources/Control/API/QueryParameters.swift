import Foundation
import Hummingbird

/// A query parameter or body member the admin API cannot use; answered 400 naming it.
struct ParameterProblem: Error {
    var message: String
}

/// The admin API's query parameters, read strictly: an unknown name, a
/// value too long, a date or number that does not parse is a `ParameterProblem`.
struct QueryParameters {
    private var values: [String: String] = [:]

    /// `allowed`: the parameters the endpoint knows; anything else is refused (a typo is not ignored).
    init(_ request: Request, allowed: Set<String>) throws(ParameterProblem) {
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let takes = allowed.isEmpty ? "no query parameters" : allowed.sorted().joined(separator: ", ")
                throw ParameterProblem(message: "unknown query parameter \"\(name.prefix(64))\"; this endpoint takes \(takes)")
            }
            guard value.utf8.count <= 512 else { throw ParameterProblem(message: "\(name) is longer than 512 bytes") }
            guard values[name] == nil else { throw ParameterProblem(message: "\(name) is given twice") }
            values[name] = String(value)
        }
    }

    /// For an endpoint that takes no query parameters: the 400 answer to a
    /// request that gives one (a `?dryRun=true` on a revocation must not be
    /// ignored), else nil.
    static func refusal(_ request: Request) -> Response? {
        do {
            _ = try QueryParameters(request, allowed: [])
            return nil
        } catch {
            return APIResponse.badRequest(error.message)
        }
    }

    func string(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// What a time, in a query parameter or a body, must be.
    static let timeForm = "an ISO 8601 time such as 2026-11-30T10:00:00Z"

    /// ISO 8601, with or without fractional seconds (`2026-11-30T10:00:00Z`).
    func date(_ name: String) throws(ParameterProblem) -> Date? {
        guard let text = string(name) else { return nil }
        guard let date = StrictTime.parse(text) else {
            throw ParameterProblem(message: "\(name) \"\(text.prefix(64))\" is not \(Self.timeForm)")
        }
        return date
    }

    func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws(ParameterProblem) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ParameterProblem(message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func choice<Value: RawRepresentable & CaseIterable>(_ name: String, _ type: Value.Type) throws(ParameterProblem) -> Value?
    where Value.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw ParameterProblem(message: "\(name) \"\(text.prefix(64))\" is not one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func cursor(_ name: String) throws(ParameterProblem) -> PageCursor? {
        guard let text = string(name) else { return nil }
        guard let cursor = PageCursor(token: text) else {
            throw ParameterProblem(message: "\(name) is not a cursor this API returned (use nextCursor from the previous page)")
        }
        return cursor
    }

    /// A certificate serial: hexadecimal, as the inventory stores it (lowercase, no separators).
    func serial(_ name: String) throws(ParameterProblem) -> String? {
        guard let text = string(name) else { return nil }
        return try Self.serial(text, name: name)
    }

    static func serial(_ text: String, name: String) throws(ParameterProblem) -> String {
        // A path segment arrives percent-encoded (`7b%3A08`).
        let cleaned = (text.removingPercentEncoding ?? text).lowercased().replacingOccurrences(of: ":", with: "")
        guard !cleaned.isEmpty, cleaned.utf8.count <= 64, cleaned.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw ParameterProblem(message: "\(name) \"\(text.prefix(64))\" is not a certificate serial number (hexadecimal, at most 64 digits)")
        }
        return cleaned
    }
}

/// RFC 3339 times, strictly: every field in range (no 25:00 rolling over
/// into the next day), a four-digit year the stores can hold, `Z` or an
/// offset up to ±14:00.
enum StrictTime {
    static func parse(_ text: String) -> Date? {
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/#
        guard let match = text.wholeMatch(of: pattern), let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
            let hour = Int(match.4), let minute = Int(match.5), let second = Int(match.6)
        else { return nil }
        let components = DateComponents(calendar: Calendar.utc, year: year, month: month, day: 1)
        guard (1...12).contains(month), hour <= 23, minute <= 59, second <= 59, let first = components.date else { return nil }
        let days = Calendar.utc.range(of: .day, in: .month, for: first)?.count ?? 31
        guard (1...days).contains(day) else { return nil }
        if match.8 != "Z" {
            let offset = match.8.dropFirst().split(separator: ":").compactMap { Int($0) }
            guard offset.count == 2, offset[0] <= 14, offset[1] <= 59, offset[0] * 60 + offset[1] <= 14 * 60 else { return nil }
        }
        guard let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: match.7 != nil).parse(text), PageCursor.instants.contains(date)
        else { return nil }
        return date
    }
}
