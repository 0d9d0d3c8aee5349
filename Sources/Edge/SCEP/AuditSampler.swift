import Foundation
import Synchronization
import ScepterProtocol

/// Refusals of requests nobody has authenticated (garbage, bad signatures,
/// a source over its limit) are audited one per source and outcome per
/// minute; the rest are counted in metrics, and the next audited event of
/// that kind says how many were not written. A flood then costs the audit
/// log a row a minute per source instead of a row per request, and cannot
/// push real enrollments out of the backlog. Every authenticated request is
/// audited in full.
package final class AuditSampler: Sendable {
    private struct Key: Hashable {
        var source: String
        var outcome: Outcome
    }

    private struct Window {
        var started: Date
        var suppressed: Int
    }

    package enum Decision: Equatable, Sendable {
        /// Write the event; `suppressedBefore` like it were only counted since the last one written.
        case audit(suppressedBefore: Int)
        case count
    }

    private let windows = Mutex<[Key: Window]>([:])
    private let window: TimeInterval
    private let capacity: Int

    package init(window: Duration = .seconds(60), capacity: Int = 10_000) {
        self.window = window.timeInterval
        self.capacity = capacity
    }

    package func decide(source: String?, outcome: Outcome, now: Date) -> Decision {
        let key = Key(source: source ?? "unknown", outcome: outcome)
        return windows.withLock { windows in
            if let current = windows[key], now.timeIntervalSince(current.started) < window {
                windows[key]?.suppressed += 1
                return .count
            }
            if windows.count >= capacity { windows.removeAll() }  // audit more, never less
            let suppressed = windows[key]?.suppressed ?? 0
            windows[key] = Window(started: now, suppressed: 0)
            return .audit(suppressedBefore: suppressed)
        }
    }
}
