import Foundation
import Testing
@testable import ScepterControl

@Suite("SQLite timestamps", .timeLimit(.minutes(2)))
struct TimestampTests {
    /// What `Timestamp.format` wrote before it formatted by hand: Foundation's
    /// ISO 8601 style, milliseconds appended. Every row already stored holds this.
    static func foundation(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (whole, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let seconds = fraction < 0 ? whole - 1 : whole
        let millis = fraction < 0 ? fraction + 1000 : fraction
        let base = Date(timeIntervalSince1970: TimeInterval(seconds))
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
        return base.dropLast() + "." + String(millis + 1000).dropFirst() + "Z"
    }

    @Test("writes what Foundation wrote, at the edges of days, months, leap years and the range")
    func edges() {
        let cases: [(TimeInterval, String)] = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-0.001, "1969-12-31T23:59:59.999Z"),
            (0.027, "1970-01-01T00:00:00.027Z"),
            (951_782_400, "2000-02-29T00:00:00.000Z"),
            (4_107_542_399.999, "2100-02-28T23:59:59.999Z"),
            (4_107_542_400, "2100-03-01T00:00:00.000Z"),
            (-2_203_977_600, "1900-02-28T00:00:00.000Z"),
            (1_798_761_599.9994, "2026-12-31T23:59:59.999Z"),
            (1_798_761_599.9996, "2027-01-01T00:00:00.000Z"),
            (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
            (-12_212_553_600, "1583-01-01T00:00:00.000Z"),
            (-12_212_553_600.001, "1582-12-31T23:59:59.999Z"),
        ]
        for (seconds, expected) in cases {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.format(date) == expected, "\(seconds)")
            #expect(Timestamp.format(date) == Self.foundation(date), "\(seconds)")
        }
    }

    @Test("writes what Foundation wrote for 2000 dates from the year 1 to 9999, and reads each back")
    func sweep() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            // Whole milliseconds, as stored; before 1583 Foundation's Julian days are kept.
            let milliseconds = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)
            let date = Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
            let text = Timestamp.format(date)
            #expect(text == Self.foundation(date), "\(milliseconds)")
            let read = try #require(Timestamp.parse(text), "\(text)")
            #expect(Int64((read.timeIntervalSince1970 * 1000).rounded()) == milliseconds, "\(text)")
        }
    }
}
