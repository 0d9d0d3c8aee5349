import Foundation
import ScepterProtocol

/// ISO 8601 UTC timestamps with milliseconds, as SQLite stores them:
/// `2026-12-06T21:48:36.123Z`, sortable as text, readable in `sqlite3`.
enum Timestamp {
    /// Dates from 1583-01-01 (the first whole year of the Gregorian calendar)
    /// to 9999-12-31, in milliseconds since 1970: written by `civil`.
    /// Foundation's calendar counts days before October 1582 in the Julian
    /// calendar, so earlier dates go through Foundation, and `parse` reads
    /// back every date as it was written.
    private static let gregorianMilliseconds: ClosedRange<Int64> = -12_212_553_600_000...253_402_300_799_999

    static func format(_ date: Date) -> String {
        // Round to whole milliseconds first: formatting truncates, and binary
        // fractions would otherwise lose a millisecond (0.027 -> .026).
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (whole, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let seconds = fraction < 0 ? whole - 1 : whole
        let millis = fraction < 0 ? fraction + 1000 : fraction
        // Foundation's ISO 8601 style costs about 1.3 µs a call (it builds a
        // calendar each time); a stored row has several timestamps.
        guard gregorianMilliseconds.contains(milliseconds) else {
            let base = Date(timeIntervalSince1970: TimeInterval(seconds))
                .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
            let padded = String(millis + 1000).dropFirst()
            return base.dropLast() + "." + padded + "Z"
        }
        return civil(seconds: seconds, millis: millis)
    }

    static func parse(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// `seconds` since 1970 and `millis` in the proleptic Gregorian calendar.
    private static func civil(seconds: Int64, millis: Int64) -> String {
        let time = CivilTime(secondsSince1970: Int(seconds))
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func field(_ value: Int, digits: Int, then separator: Unicode.Scalar) {
            CivilTime.append(value, digits: digits, to: &text)
            text.append(UInt8(ascii: separator))
        }
        field(time.year, digits: 4, then: "-")
        field(time.month, digits: 2, then: "-")
        field(time.day, digits: 2, then: "T")
        field(time.hour, digits: 2, then: ":")
        field(time.minute, digits: 2, then: ":")
        field(time.second, digits: 2, then: ".")
        field(Int(millis), digits: 3, then: "Z")
        return String(decoding: text, as: UTF8.self)
    }
}
