import Foundation
import ScepterProtocol

/// The daily rollup behind the all-time `outcomeCounts`: PKIOperations per
/// (UTC day, profile, outcome) in `audit_daily_outcomes`, so the stats page
/// sums a few thousand rows instead of counting every audit event.
///
/// Days before yesterday are rolled up once, by the first count that finds
/// them missing (a week per statement); yesterday and today are counted live. An event that
/// arrives for a day already rolled up (more than a day late) is not in the
/// totals; replicas rolling up at once insert the same rows, and the key
/// keeps one of each.
struct AuditRollup: Sendable {
    let dialect: SQLDialect
    /// The start of yesterday (UTC): earlier days come from the rollup, the rest from `audit_events`.
    let cutoff: Date

    init(dialect: SQLDialect, now: Date) {
        self.dialect = dialect
        cutoff = Date(timeIntervalSince1970: ((now.timeIntervalSince1970 / 86_400).rounded(.down) - 1) * 86_400)
    }

    static let totals = "SELECT profile, outcome, CAST(sum(n) AS bigint) AS n FROM audit_daily_outcomes GROUP BY profile, outcome"

    /// At most this many days per statement, each its own operation: a
    /// first rollup of a large log stays within the statement timeout, and
    /// what it did is kept if a later step fails.
    static let daysPerStep = 7

    /// Where rolling up resumes: the day after the newest one rolled up so
    /// far, or the day of the first event; nil when there is no event.
    func resumption(on sql: any SQLExecutor) async throws -> Date? {
        if let last = try await sql.run("SELECT max(day) AS day FROM audit_daily_outcomes").first.flatMap({ try $0.text("day") }) {
            guard let start = Self.start(of: last) else {
                throw UnexpectedRow(table: "audit_daily_outcomes", column: "day", problem: "holds \"\(last)\", which is not a YYYY-MM-DD day")
            }
            return start.addingTimeInterval(86_400)
        }
        let first = try await sql.run(#"SELECT min("time") AS first FROM audit_events WHERE operation = ?"#, [.text(AuditOperation.pkiOperation.rawValue)])
        return try first.first.flatMap { try $0.instant("first") }.map { Date(timeIntervalSince1970: ($0.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400) }
    }

    /// The statements rolling up the days from `from` to the cutoff, a week each.
    func steps(from: Date) -> [SQLStatement] {
        var steps: [SQLStatement] = []
        var from = from
        while from < cutoff {
            let to = min(from.addingTimeInterval(Double(Self.daysPerStep) * 86_400), cutoff)
            steps.append(
                SQLStatement(
                    """
                    INSERT INTO audit_daily_outcomes (day, profile, outcome, n)
                    SELECT \(dialect.bucket(#""time""#, hourly: false)) AS day, profile, outcome, count(*) AS n FROM audit_events
                    WHERE operation = ? AND "time" >= ? AND "time" < ? GROUP BY day, profile, outcome
                    ON CONFLICT (day, profile, outcome) DO NOTHING
                    """, [.text(AuditOperation.pkiOperation.rawValue), .instant(from), .instant(to)]))
            from = to
        }
        return steps
    }

    /// `2026-11-30`: the UTC day of `date`, as the engines bucket it.
    static func day(_ date: Date) -> String {
        String(date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateSeparator(.dash)).prefix(10))
    }

    /// Midnight UTC starting `day`.
    static func start(of day: String) -> Date? {
        try? Date(day + "T00:00:00Z", strategy: .iso8601)
    }
}

extension OutcomeCount {
    /// What a count is of.
    struct Key: Hashable {
        var profile: String
        var outcome: String
    }

    /// Adds rows of (profile, outcome, n) to `totals`.
    static func tally(_ rows: [any SQLRow], into totals: inout [Key: Int]) throws {
        for row in rows {
            let key = Key(profile: try row.required(row.text, "profile", in: "audit_events"), outcome: try row.required(row.text, "outcome", in: "audit_events"))
            totals[key, default: 0] += Int(try row.required(row.integer, "n", in: "audit_events"))
        }
    }
}
