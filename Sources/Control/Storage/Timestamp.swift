import Foundation

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

    /// The proleptic Gregorian date and time of `seconds` since 1970 (Howard
    /// Hinnant's `civil_from_days`, in eras of 400 years, 146 097 days).
    private static func civil(seconds: Int64, millis: Int64) -> String {
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (dayCount, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let sinceMarch0000 = dayCount + 719_468
        let era = (sinceMarch0000 >= 0 ? sinceMarch0000 : sinceMarch0000 - 146_096) / 146_097
        let dayOfEra = sinceMarch0000 - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        var text: [UInt8] = []
        text.reserveCapacity(24)
        func append(_ value: Int64, digits: Int, then separator: Unicode.Scalar) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(truncatingIfNeeded: 0x30 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
            text.append(UInt8(ascii: separator))
        }
        append(year, digits: 4, then: "-")
        append(month, digits: 2, then: "-")
        append(day, digits: 2, then: "T")
        append(second / 3600, digits: 2, then: ":")
        append(second / 60 % 60, digits: 2, then: ":")
        append(second % 60, digits: 2, then: ".")
        append(millis, digits: 3, then: "Z")
        return String(decoding: text, as: UTF8.self)
    }
}
