import NIOCore
import NIOPosix
import Testing
@testable import scepter

/// `EventLoopExecutor`, which pins a request to its connection's loop:
/// whatever loop completes what a task awaits, the task goes on on its own.
@Suite(.timeLimit(.minutes(1)))
struct EventLoopExecutorTests {
    @Test("A task preferring a loop resumes on it after awaiting work another loop completes")
    func resumesOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let (own, other) = (loops[0], loops[1])
        let resumedOn = try await withTaskExecutorPreference(EventLoopExecutor(own)) {
            var seen: [Bool] = []
            for _ in 0..<50 {
                try await other.submit { precondition(other.inEventLoop) }.get()
                seen.append(own.inEventLoop)
            }
            return seen
        }
        try await group.shutdownGracefully()
        #expect(resumedOn.allSatisfy { $0 }, "resumed on its own loop \(resumedOn.filter { $0 }.count) times of 50")
    }
}
