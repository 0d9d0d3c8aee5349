import Foundation
import Hummingbird

/// A query parameter the admin API cannot use; answered 400 naming it.
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
                throw ParameterProblem(message: "unknown query parameter \"\(name.prefix(64))\"; this endpoint takes \(allowed.sorted().joined(separator: ", "))")
            }
            guard value.utf8.count <= 512 else { throw ParameterProblem(message: "\(name) is longer than 512 bytes") }
            guard values[name] == nil else { throw ParameterProblem(message: "\(name) is given twice") }
            values[name] = String(value)
        }
    }

    func string(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// ISO 8601, with or without fractional seconds (`2026-11-30T10:00:00Z`).
    func date(_ name: String) throws(ParameterProblem) -> Date? {
        guard let text = string(name) else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw ParameterProblem(message: "\(name) \"\(text.prefix(64))\" is not an ISO 8601 time such as 2026-11-30T10:00:00Z")
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
        let cleaned = text.lowercased().replacingOccurrences(of: ":", with: "")
        guard !cleaned.isEmpty, cleaned.utf8.count <= 64, cleaned.allSatisfy(\.isHexDigit) else {
            throw ParameterProblem(message: "\(name) \"\(text.prefix(64))\" is not a certificate serial number (hexadecimal, at most 64 digits)")
        }
        return cleaned
    }
}
