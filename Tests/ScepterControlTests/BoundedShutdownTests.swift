import ServiceLifecycle
import Synchronization
import Testing
@testable import ScepterControl

@Suite("BoundedShutdown: a service's work that never returns cannot hold up shutdown", .timeLimit(.minutes(2)))
struct BoundedShutdownTests {
    /// A service whose work is `work`, run through `BoundedShutdown`; records what it reported.
    struct Bounded: Service {
        let budget: Duration
        let work: @Sendable () async -> Void
        let stopped = Events()

        func run() async throws {
            let returned = await BoundedShutdown.run(within: budget, stopping: { stopped.record("stopping") }) { await work() }
            stopped.record(returned ? "returned" : "left behind")
        }
    }

    final class Events: Sendable {
        private let list = Mutex<[String]>([])
        func record(_ event: String) { list.withLock { $0.append(event) } }
        var all: [String] { list.withLock { $0 } }
    }

    /// Work that ignores cancellation: it ends only when the test resumes it (as postgres-nio's pool once did not).
    final class Stuck: Sendable {
        private let waiting = Mutex<CheckedContinuation<Void, Never>?>(nil)
        func work() async { await withCheckedContinuation { continuation in waiting.withLock { $0 = continuation } } }
        var started: Bool { waiting.withLock { $0 != nil } }
        func release() { waiting.withLock { $0?.resume(); $0 = nil } }
    }

    @Test("Graceful shutdown: work that returns when cancelled is waited for")
    func workThatStops() async throws {
        // A budget far past the suite's time limit: "returned" can only come from the work itself.
        let service = Bounded(budget: .seconds(3600)) { try? await Task.sleep(for: .seconds(7200)) }
        let group = ServiceGroup(services: [service], logger: ControlFixtures.logger)
        let clock = ContinuousClock()
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let started = clock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return clock.now - started
        }
        #expect(service.stopped.all == ["stopping", "returned"])
        // Loose: under a full test run the cooperative pool has been seen to take 33 s to get here.
        #expect(elapsed < .seconds(90), "the budget was not needed: \(elapsed)")
    }

    @Test("Graceful shutdown: work that ignores it is left behind after the budget, and the service returns")
    func workThatNeverStops() async throws {
        let stuck = Stuck()
        let service = Bounded(budget: .milliseconds(300)) { await stuck.work() }
        let group = ServiceGroup(services: [service], logger: ControlFixtures.logger)
        let clock = ContinuousClock()
        let elapsed = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while !stuck.started { try await Task.sleep(for: .milliseconds(10)) }
            let started = clock.now
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return clock.now - started
        }
        #expect(service.stopped.all == ["stopping", "left behind"])
        #expect(elapsed >= .milliseconds(300), "waited the budget: \(elapsed)")
        stuck.release()
    }

    @Test("Cancellation: work that ignores it is left behind after the budget too")
    func cancelledWithWorkThatNeverStops() async throws {
        let stuck = Stuck()
        let service = Bounded(budget: .milliseconds(300)) { await stuck.work() }
        let running = Task { try await service.run() }
        while !stuck.started { try await Task.sleep(for: .milliseconds(10)) }
        running.cancel()
        try await running.value
        #expect(service.stopped.all == ["stopping", "left behind"])
        stuck.release()
    }
}
