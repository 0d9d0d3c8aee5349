import Logging
import Synchronization
import Testing
import ScepterControl
import ScepterRedis
import ScepterTesting

/// The lease that keeps the Intune revocation download to one replica at a time, on a real Redis.
@Suite("Redis lease", .timeLimit(.minutes(1)))
struct ClusterLeaseTests {
    @Test("While one replica holds the lease another is refused; released, the next takes it; a lost lease is not freed by its old holder")
    func oneHolderAtATime() async throws {
        let client = RedisClient(configuration: try .init(url: try TestRedis.url()), logger: Logger(label: "test"))
        let name = TestRedis.uniquePrefix("lease") + "revocation"
        let a = RedisLease(client: client, owner: "replica-a", logger: Logger(label: "test"))
        let b = RedisLease(client: client, owner: "replica-b", logger: Logger(label: "test"))

        let (entered, enter) = AsyncStream<Void>.makeStream()
        let (release, finish) = AsyncStream<Void>.makeStream()
        let holder = Task {
            await a.withLease(name, ttl: .seconds(30)) {
                enter.yield()
                for await _ in release {}
            }
        }
        for await _ in entered { break }
        #expect(await b.withLease(name, ttl: .seconds(30)) {} == false)
        finish.finish()
        #expect(await holder.value)
        let ran = Mutex(false)
        #expect(await b.withLease(name, ttl: .seconds(30)) { ran.withLock { $0 = true } })
        #expect(ran.withLock { $0 })

        // A lease that expires under its holder: the old holder's release must not free the next holder's lease.
        let key = "scepter:lease:" + name
        let (secondEntered, enterSecond) = AsyncStream<Void>.makeStream()
        let (secondRelease, finishSecond) = AsyncStream<Void>.makeStream()
        let second = Mutex<Task<Bool, Never>?>(nil)
        #expect(await a.withLease(name, ttl: .milliseconds(100)) {
            for _ in 0..<100 where ((try? await client.send(["EXISTS", key]))?.integer ?? 1) != 0 {
                try? await Task.sleep(for: .milliseconds(20))
            }
            second.withLock { task in
                task = Task { await b.withLease(name, ttl: .seconds(30)) { enterSecond.yield(); for await _ in secondRelease {} } }
            }
            for await _ in secondEntered { break }
        })
        #expect(await a.withLease(name, ttl: .seconds(30)) {} == false, "b still holds it")
        finishSecond.finish()
        #expect(await second.withLock({ $0 })?.value == true)
        await client.close()
    }
}
