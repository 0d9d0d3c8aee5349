import Logging
import Testing
import ScepterRedis
import ScepterTesting
@testable import ScepterControl

/// The note a replica leaves in Redis while an issuance is slow, so a CertPoll
/// that reaches another replica answers PENDING; on a real Redis.
@Suite("In-flight note", .timeLimit(.minutes(2)))
struct InFlightNoteTests {
    /// The Redis registry, with every begin and end reported as it completes.
    final class RecordingRegistry: InFlightRegistry {
        enum Event: Equatable { case began(String), ended(String) }

        let redis: RedisInFlightRegistry
        let events: AsyncStream<Event>
        private let report: AsyncStream<Event>.Continuation

        init(_ redis: RedisInFlightRegistry) {
            self.redis = redis
            (events, report) = AsyncStream.makeStream()
        }

        func begin(profile: String, transactionID: String) async {
            await redis.begin(profile: profile, transactionID: transactionID)
            report.yield(.began(transactionID))
        }

        func end(profile: String, transactionID: String) async {
            await redis.end(profile: profile, transactionID: transactionID)
            report.yield(.ended(transactionID))
        }

        func isInFlight(profile: String, transactionID: String) async -> Bool {
            await redis.isInFlight(profile: profile, transactionID: transactionID)
        }
    }

    static func withRegistry(_ body: (RecordingRegistry) async throws -> Void) async throws {
        let client = RedisClient(configuration: try .init(url: try TestRedis.url()), logger: Logger(label: "test"))
        do {
            try await body(RecordingRegistry(RedisInFlightRegistry(client: client, replicaID: "replica-a", logger: Logger(label: "test"))))
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    @Test("A slow issuance is noted after the delay and withdrawn when it ends; a fast one writes nothing")
    func slowIsNotedFastIsNot() async throws {
        try await Self.withRegistry { registry in
            let prefix = TestRedis.uniquePrefix("inflight")
            var events = registry.events.makeAsyncIterator()

            // Ends before its delay: its timer is cancelled.
            let fast = InFlightNote(registry: registry, profile: "corp", transactionID: prefix + "fast", after: .milliseconds(100))
            fast.end()
            // Outlives its delay, which is later than the fast one's: once it is written, the fast one's time has passed.
            let slow = InFlightNote(registry: registry, profile: "corp", transactionID: prefix + "slow", after: .milliseconds(300))
            #expect(await events.next() == .began(prefix + "slow"), "the fast note was written, or the slow one never")
            #expect(await registry.isInFlight(profile: "corp", transactionID: prefix + "slow"))
            #expect(await registry.isInFlight(profile: "corp", transactionID: prefix + "fast") == false)

            slow.end()
            #expect(await events.next() == .ended(prefix + "slow"))
            #expect(await registry.isInFlight(profile: "corp", transactionID: prefix + "slow") == false)
            slow.end()  // a second end withdraws nothing twice
        }
    }

    @Test("While one replica's issuance is stuck in its commit, a poll at another replica answers pending; then the certificate")
    func pollAtAnotherReplica() async throws {
        try await Self.withRegistry { registry in
            let caIdentity = try TestPKI.makeCA(key: .p256)
            let ca = try ControlFixtures.localCA(caIdentity)
            let configuration = ControlConfiguration(profiles: [.init(name: "corp", issuer: ca, policy: CertificateProfile())])
            try await IssuanceHarness.withStore { sqlite in
                let gated = GatedStore(sqlite)
                let issuing = IssuanceService(configuration: configuration, store: gated, logger: ControlFixtures.logger, replicas: registry)
                let other = IssuanceService(configuration: configuration, store: sqlite, logger: ControlFixtures.logger, replicas: registry)
                let transactionID = TestRedis.uniquePrefix("inflight") + "stuck"
                let job = IssuanceHarness.job(try Device(), transactionID: transactionID)

                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { gated.stopSignalling() }
                        let decision = try await issuing.enroll(job)
                        #expect(decision.issued != nil)
                    }
                    var events = registry.events.makeAsyncIterator()
                    #expect(await events.next() == .began(transactionID), "the stuck issuance was never noted")
                    #expect(try await other.poll(profile: "corp", transactionID: transactionID)?.isPending == true)
                    gated.open()
                    try await group.waitForAll()
                    #expect(await events.next() == .ended(transactionID))
                }
                #expect(try await other.poll(profile: "corp", transactionID: transactionID)?.issued != nil)
                #expect(await registry.isInFlight(profile: "corp", transactionID: transactionID) == false)
            }
        }
    }
}
