import Foundation
import Testing
@testable import ScepterEdge

@Suite("In-memory state store: replay and sliding window in one step", .timeLimit(.minutes(5)))
struct InMemoryStateStoreTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func admission(_ key: String, transaction: String, device: String? = "dev|iss", limit: Int = 3, at offset: TimeInterval = 0)
        -> Admission
    {
        Admission(
            replayKey: key, use: transaction, replayTTL: .seconds(3600), deviceKey: device, rateLimit: limit,
            now: start.addingTimeInterval(offset))
    }

    @Test func firstUseIsAdmittedSecondTransactionIsReplaySameTransactionIsRetransmission() async throws {
        let store = InMemoryStateStore()
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-a")) == .admitted)
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-a", at: 5)) == .retransmission)
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", at: 6)) == .replay)
    }

    @Test func replayKeyExpiresAfterItsTTL() async throws {
        let store = InMemoryStateStore()
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-a", device: nil)) == .admitted)
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", device: nil, at: 3599)) == .replay)
        #expect(try await store.admit(admission("nonce-1", transaction: "tx-b", device: nil, at: 3601)) == .admitted)
    }

    @Test func fourthEnrollmentOfADeviceIn24HoursIsRateLimitedAndTheWindowSlides() async throws {
        let store = InMemoryStateStore()
        for index in 0..<3 {
            #expect(try await store.admit(admission("n\(index)", transaction: "t\(index)", at: Double(index) * 3600)) == .admitted)
        }
        #expect(try await store.admit(admission("n3", transaction: "t3", at: 4 * 3600)) == .rateLimited)
        // The first admission leaves the window 24 h after it happened.
        #expect(try await store.admit(admission("n4", transaction: "t4", at: 24 * 3600 + 1)) == .admitted)
        #expect(try await store.admit(admission("n5", transaction: "t5", at: 24 * 3600 + 2)) == .rateLimited)
    }

    @Test func rateLimitZeroDisablesTheWindowAndOtherDevicesAreIndependent() async throws {
        let store = InMemoryStateStore()
        for index in 0..<10 {
            #expect(try await store.admit(admission("z\(index)", transaction: "tz\(index)", limit: 0)) == .admitted)
        }
        for index in 0..<3 {
            #expect(try await store.admit(admission("a\(index)", transaction: "ta\(index)", device: "a|iss")) == .admitted)
        }
        #expect(try await store.admit(admission("b0", transaction: "tb0", device: "b|iss")) == .admitted)
    }

    @Test func aRateLimitedRequestDoesNotBurnItsChallenge() async throws {
        let store = InMemoryStateStore()
        for index in 0..<3 { _ = try await store.admit(admission("n\(index)", transaction: "t\(index)")) }
        #expect(try await store.admit(admission("late", transaction: "t-late", at: 10)) == .rateLimited)
        // It left no replay record: the same request is admitted, not a retransmission.
        #expect(try await store.admit(admission("late", transaction: "t-late", device: nil, at: 20)) == .admitted)
        #expect(try await store.admit(admission("late", transaction: "t-late", at: 86_400 + 1)) == .admitted)
    }

    @Test func memoryIsBoundedByCapacity() async throws {
        let store = InMemoryStateStore(capacity: 100)
        for index in 0..<1000 {
            _ = try await store.admit(admission("k\(index)", transaction: "t\(index)", device: nil, at: Double(index)))
        }
        #expect(store.replayKeyCount <= 100)
    }

    @Test func concurrentUsesOfOneChallengeAdmitExactlyOne() async throws {
        let store = InMemoryStateStore()
        let results = await withTaskGroup(of: AdmissionResult?.self) { group in
            for index in 0..<50 {
                group.addTask { try? await store.admit(admission("shared", transaction: "tx-\(index)", device: nil)) }
            }
            return await group.reduce(into: [AdmissionResult?]()) { $0.append($1) }
        }
        #expect(results.filter { $0 == .admitted }.count == 1)
        #expect(results.filter { $0 == .replay }.count == 49)
    }
}
