import Foundation
import Synchronization

/// Stops a dead Intune from holding every enrollment for a full timeout:
/// after `threshold` consecutive failed calls it opens and refuses calls for
/// `cooldown`, then lets one probe through (half-open); the probe's result
/// closes or re-opens it.
package final class CircuitBreaker: Sendable {
    package enum State: String, Sendable, Codable {
        case closed
        case open
        case halfOpen = "half_open"

        /// For the `scepter_intune_breaker_state` gauge.
        var gaugeValue: Int {
            switch self {
            case .closed: 0
            case .open: 1
            case .halfOpen: 2
            }
        }
    }

    private struct Machine {
        var failures = 0
        var openedAt: ContinuousClock.Instant?
        var probing = false
    }

    let threshold: Int
    let cooldown: Duration
    private let machine = Mutex(Machine())
    private let onChange: @Sendable (State) -> Void

    package init(threshold: Int, cooldown: Duration, onChange: @escaping @Sendable (State) -> Void = { _ in }) {
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self.onChange = onChange
    }

    package var state: State {
        machine.withLock { machine in Self.state(of: machine, at: .now, cooldown: cooldown) }
    }

    /// Whether a call may go out now; in half-open, only the first caller probes.
    func allow() -> Bool {
        let (allowed, changed) = machine.withLock { machine -> (Bool, State?) in
            switch Self.state(of: machine, at: .now, cooldown: cooldown) {
            case .closed:
                return (true, nil)
            case .open:
                return (false, nil)
            case .halfOpen:
                if machine.probing { return (false, nil) }
                machine.probing = true
                return (true, .halfOpen)
            }
        }
        if let changed { onChange(changed) }
        return allowed
    }

    func recordSuccess() {
        let wasOpen = machine.withLock { machine in
            defer { machine = Machine() }
            return machine.openedAt != nil
        }
        if wasOpen { onChange(.closed) }
    }

    func recordFailure() {
        let opened = machine.withLock { machine -> Bool in
            machine.failures += 1
            guard machine.probing || (machine.openedAt == nil && machine.failures >= threshold) else { return false }
            machine.openedAt = .now
            machine.probing = false
            return true
        }
        if opened { onChange(.open) }
    }

    /// A call that ended without a verdict on Intune's health (e.g. a 4xx
    /// configuration refusal) frees the half-open probe slot.
    func recordNeutral() {
        machine.withLock { $0.probing = false }
    }

    private static func state(of machine: Machine, at now: ContinuousClock.Instant, cooldown: Duration) -> State {
        guard let openedAt = machine.openedAt else { return .closed }
        return now - openedAt >= cooldown ? .halfOpen : .open
    }
}
