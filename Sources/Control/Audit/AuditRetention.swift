import Foundation
import ScepterProtocol

/// How long audit events are kept: `SCEPTER_AUDIT_RETENTION`.
package struct AuditRetention: Sendable, Hashable {
    /// Events older than this are deleted; nil keeps them forever.
    package var period: Duration?

    package static let variable = "SCEPTER_AUDIT_RETENTION"
    /// 400 days: a year of certificates plus renewal and the time to notice a problem.
    package static let standard = AuditRetention(period: .seconds(400 * 86_400))
    package static let forever = AuditRetention(period: nil)
    /// Shorter is a typo (`400m` for `400d`) that would erase the log within the hour.
    package static let minimum = Duration.seconds(86_400)

    package init(period: Duration?) {
        self.period = period
    }

    /// Reads `SCEPTER_AUDIT_RETENTION`: a duration of at least a day, or `0`
    /// (any zero duration) to keep every event.
    package static func load(_ settings: inout Settings) -> AuditRetention {
        guard let text = settings.string(variable) else { return standard }
        if text.trimmingCharacters(in: .whitespaces) == "0" { return forever }
        guard let period = DurationText.parse(text) else {
            settings.problem(variable, "\"\(text)\" is not a duration (use e.g. 400d, or 0 to keep audit events forever)")
            return standard
        }
        if period == .zero { return forever }
        guard period >= minimum else {
            settings.problem(variable, "\"\(text)\" is under 1d; keep audit events at least a day (e.g. 400d), or 0 to keep them forever")
            return standard
        }
        return AuditRetention(period: period)
    }
}
