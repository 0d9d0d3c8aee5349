import Logging
import Synchronization
import Testing
import ScepterControl
import ScepterRedis
import ScepterTesting

/// The lease that keeps the Intune revocation download to one replica at a time, on a real Redis.
@Suite("Redis lease", .timeLimit(.minutes(5)))
struct ClusterLeaseTests {
    @Test("While one replica holds the lease another is refused; released, the next takes it; a lost lease is not freed by its old holder")
    func oneHolderAtATime() async throws {
        let client = RedisClient(configuration: try .init(url: try TestRedis.url()), logger: Logger(label: "test"))
        let name = TestRedis.uniquePrefix("lease") + "revocation"
        let a = RedisLease(client: client, owner: "replica-a", logger: Logger(label: "test"))
        let b = RedisLease(client: client, owner: "replica-b", logger: Logger(label: "test"))

        // Each holder's stream ends when its withLease returns, so a lease not taken fails the test instead of hanging it.
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let (release, finish) = AsyncStream<Void>.makeStream()
        let holder = Task {
            defer { enter.finish() }
            return await a.withLease(name, ttl: .seconds(30)) {
                enter.yield()
                for await _ in release {}
            }
        }
        var inside = false
        for await _ in entered { inside = true; break }
        #expect(inside, "replica a did not get the free lease")
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
        let secondInside = Mutex(false)
        #expect(await a.withLease(name, ttl: .milliseconds(100)) {
            // Until Redis has expired a's lease (bounded: 250 × 20 ms).
            for _ in 0..<250 {
                if ((try? await client.send(["EXISTS", key]))?.integer ?? 1) == 0 { break }
                try? await Task.sleep(for: .milliseconds(20))
            }
            second.withLock { task in
                task = Task {
                    defer { enterSecond.finish() }
                    return await b.withLease(name, ttl: .seconds(30)) { enterSecond.yield(); for await _ in secondRelease {} }
                }
            }
            for await _ in secondEntered { secondInside.withLock { $0 = true }; break }
        })
        #expect(secondInside.withLock { $0 }, "replica b did not get the expired lease")
        #expect(await a.withLease(name, ttl: .seconds(30)) {} == false, "b still holds it")
        finishSecond.finish()
        #expect(await second.withLock({ $0 })?.value == true)
        await client.close()
    }
}
