import Synchronization
import Testing
@testable import ScepterControl

@Suite("Intune circuit breaker", .timeLimit(.minutes(5)))
struct CircuitBreakerTests {
    /// Polls (bounded) until the breaker reports `state`.
    static func wait(for state: CircuitBreaker.State, _ breaker: CircuitBreaker) async throws -> Bool {
        for _ in 0..<200 {
            if breaker.state == state { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test("Opens after the threshold, refuses during the cooldown, lets one probe through, closes on its success")
    func opensProbesAndCloses() async throws {
        let changes = Mutex<[CircuitBreaker.State]>([])
        let breaker = CircuitBreaker(threshold: 3, cooldown: .milliseconds(200)) { state in changes.withLock { $0.append(state) } }
        for _ in 0..<2 {
            #expect(breaker.allow())
            breaker.recordFailure()
        }
        #expect(breaker.state == .closed)
        #expect(breaker.allow())
        breaker.recordFailure()
        #expect(breaker.state == .open)
        #expect(!breaker.allow())

        #expect(try await Self.wait(for: .halfOpen, breaker))
        #expect(breaker.allow(), "the probe")
        #expect(!breaker.allow(), "only one probe at a time")
        breaker.recordSuccess()
        #expect(breaker.state == .closed)
        #expect(breaker.allow())
        #expect(changes.withLock { $0 } == [.open, .halfOpen, .closed])
    }

    @Test("A failed probe opens it again for a whole cooldown")
    func failedProbeReopens() async throws {
        let breaker = CircuitBreaker(threshold: 1, cooldown: .milliseconds(200))
        breaker.recordFailure()
        #expect(try await Self.wait(for: .halfOpen, breaker))
        #expect(breaker.allow())
        breaker.recordFailure()
        #expect(breaker.state == .open)
        #expect(!breaker.allow())
    }

    @Test("Successes in between reset the count: only consecutive failures open it")
    func onlyConsecutiveFailuresCount() {
        let breaker = CircuitBreaker(threshold: 2, cooldown: .seconds(30))
        for _ in 0..<5 {
            breaker.recordFailure()
            breaker.recordSuccess()
        }
        #expect(breaker.state == .closed)
    }
}
