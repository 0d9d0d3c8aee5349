import Synchronization

/// One readiness check shared by every `/readyz` call: calls that arrive while
/// a check runs wait for it instead of starting their own, and its answer is
/// reused until `ttl` after it finished. A flood of probes then costs one
/// round trip to each dependency per `ttl`. Failures are reused too: a flood
/// is likeliest while a dependency is down, when fanning out hurts most.
package final class ReadinessCache: Sendable {
    /// Ready or not, and the text `/readyz` answers.
    package typealias Answer = (ready: Bool, detail: String)

    private enum State {
        /// No check running; the last answer and until when it stands.
        case idle(last: (answer: Answer, until: ContinuousClock.Instant)?)
        /// A check runs; these calls wait for its answer.
        case checking(waiters: [CheckedContinuation<Answer?, Never>])
    }

    private enum Action {
        case answer(Answer)
        case check
        case wait
    }

    private let state = Mutex(State.idle(last: nil))
    let ttl: Duration
    let check: @Sendable () async -> Answer
    let now: @Sendable () -> ContinuousClock.Instant

    /// - Parameters:
    ///   - ttl: how long an answer is reused after its check finished (default 1 s).
    ///   - check: asks the dependencies; it must bound its own wait.
    package init(
        ttl: Duration = .seconds(1), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        check: @escaping @Sendable () async -> Answer
    ) {
        self.ttl = ttl
        self.now = now
        self.check = check
    }

    /// The current answer: reused, awaited from the check in flight, or checked now.
    package func answer() async -> Answer {
        while true {
            switch decide() {
            case .answer(let answer):
                return answer
            case .check:
                return await runCheck()
            case .wait:
                // nil: the check finished between deciding and waiting; decide again.
                if let answer = await wait() { return answer }
            }
        }
    }

    /// Calls waiting for the check in flight (for tests).
    var waiting: Int {
        state.withLock { state in
            if case .checking(let waiters) = state { return waiters.count }
            return 0
        }
    }

    private func decide() -> Action {
        let instant = now()
        return state.withLock { state in
            switch state {
            case .idle(let last?) where instant < last.until:
                return .answer(last.answer)
            case .idle:
                state = .checking(waiters: [])
                return .check
            case .checking:
                return .wait
            }
        }
    }

    private func runCheck() async -> Answer {
        let answer = await check()
        let until = now() + ttl
        let waiters = state.withLock { state -> [CheckedContinuation<Answer?, Never>] in
            defer { state = .idle(last: (answer, until)) }
            guard case .checking(let waiters) = state else { return [] }
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: answer) }
        return answer
    }

    private func wait() async -> Answer? {
        await withCheckedContinuation { continuation in
            let registered = state.withLock { state in
                guard case .checking(var waiters) = state else { return false }
                waiters.append(continuation)
                state = .checking(waiters: waiters)
                return true
            }
            if !registered { continuation.resume(returning: nil) }
        }
    }
}
