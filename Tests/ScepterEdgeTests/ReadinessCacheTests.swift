import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import ScepterEdge

@Suite("Readiness cache: a /readyz flood costs one check", .timeLimit(.minutes(5)))
struct ReadinessCacheTests {
    /// A check that counts its calls and answers only once the test opens the gate.
    final class GatedCheck: Sendable {
        let calls = Mutex(0)
        let gate: AsyncStream<Void>
        let open: AsyncStream<Void>.Continuation

        init() {
            (gate, open) = AsyncStream<Void>.makeStream()
        }

        func run() async -> ReadinessCache.Answer {
            let call = calls.withLock { $0 += 1; return $0 }
            for await _ in gate { break }
            return (call == 1, "check \(call)")
        }
    }

    final class ManualClock: Sendable {
        let instant = Mutex(ContinuousClock.now)
        func now() -> ContinuousClock.Instant { instant.withLock { $0 } }
        func advance(_ by: Duration) { instant.withLock { $0 += by } }
    }

    /// Waits until `count` calls wait for the check in flight; a minute at
    /// most (a loaded two-core machine may take long to schedule them all).
    static func waitUntil(_ cache: ReadinessCache, waiting count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while cache.waiting < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        try #require(cache.waiting == count, "\(cache.waiting) calls waiting, expected \(count)")
    }

    @Test("Concurrent /readyz calls share one check; its answer stands for the TTL, then a new check runs")
    func floodCostsOneCheck() async throws {
        let check = GatedCheck()
        let clock = ManualClock()
        let cache = ReadinessCache(ttl: .seconds(1), now: { clock.now() }, check: { await check.run() })
        let router = Router()
        HealthRoutes(readiness: cache, metrics: { [] }).add(to: router)
        let calls = 20

        try await Application(router: router).test(.router) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<calls {
                    group.addTask {
                        try await client.execute(uri: "/readyz", method: .get) { ($0.status.code, String(buffer: $0.body)) }
                    }
                }
                try await Self.waitUntil(cache, waiting: calls - 1)
                check.open.yield()
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            #expect(answers.count == calls)
            #expect(answers.allSatisfy { $0 == (200, "check 1\n") })
            #expect(check.calls.withLock { $0 } == 1)

            // Within the TTL the answer is reused; past it, the next call checks again (and a failure is reused too).
            clock.advance(.milliseconds(999))
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            #expect(check.calls.withLock { $0 } == 1)
            clock.advance(.milliseconds(1))
            check.open.yield()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/readyz", method: .get) { #expect(String(buffer: $0.body) == "check 2\n") }
            #expect(check.calls.withLock { $0 } == 2)
        }
        check.open.finish()
    }
}
