import Logging
import ScepterProtocol
import ScepterRedis
import Synchronization

/// Where control-plane replicas note the transactions they are issuing, so a
/// CertPoll that reaches another replica before the commit answers PENDING
/// rather than "unknown transaction". Best effort: when the registry cannot
/// be reached, issuance goes on and only cross-replica polls lose the hint.
package protocol InFlightRegistry: Sendable {
    func begin(profile: String, transactionID: String) async
    func end(profile: String, transactionID: String) async
    func isInFlight(profile: String, transactionID: String) async -> Bool
}

/// One issuance's note in a registry, written only if the issuance is still
/// running after a delay: a device polls only after PENDING, which an edge
/// answers after its wait budget, so most enrollments never touch the
/// registry. The delay is an event-loop timer (`LoopTimer`), cancelled when
/// the issuance ends; `end()` withdraws a note that was written, after its write.
package final class InFlightNote: Sendable {
    private struct State {
        var timer: LoopTimer?
        var written: Task<Void, Never>?
        var ended = false
    }

    private let registry: any InFlightRegistry
    private let profile: String
    private let transactionID: String
    private let state = Mutex(State())

    package init(registry: any InFlightRegistry, profile: String, transactionID: String, after delay: Duration) {
        self.registry = registry
        self.profile = profile
        self.transactionID = transactionID
        let timer = LoopTimer(after: delay) { [self] in write() }
        state.withLock { $0.timer = timer }
    }

    private func write() {
        state.withLock { state in
            guard !state.ended else { return }
            let (registry, profile, transactionID) = (registry, profile, transactionID)
            state.written = Task { await registry.begin(profile: profile, transactionID: transactionID) }
        }
    }

    /// The issuance has ended: no note is written from now on, and one that was is withdrawn.
    package func end() {
        let (timer, written) = state.withLock { state in
            state.ended = true
            return (state.timer.take(), state.written)
        }
        timer?.cancel()
        guard let written else { return }
        let (registry, profile, transactionID) = (registry, profile, transactionID)
        Task {
            await written.value
            await registry.end(profile: profile, transactionID: transactionID)
        }
    }
}

/// The registry in Redis: `scepter:inflight:<profile>:<transactionID>`, set
/// with a TTL (a replica that dies mid-issuance stops claiming it after `ttl`).
package struct RedisInFlightRegistry: InFlightRegistry {
    let client: RedisClient
    let replicaID: String
    let ttl: Duration
    let logger: Logger

    package init(client: RedisClient, replicaID: String, ttl: Duration = .seconds(120), logger: Logger) {
        self.client = client
        self.replicaID = replicaID
        self.ttl = ttl
        self.logger = logger
    }

    static func key(_ profile: String, _ transactionID: String) -> String { "scepter:inflight:\(profile):\(transactionID)" }

    package func begin(profile: String, transactionID: String) async {
        do {
            _ = try await client.send(["SET", Self.key(profile, transactionID), replicaID, "PX", Int(ttl.timeInterval * 1000)])
        } catch {
            logger.debug("could not note an issuance in flight", metadata: ["error": "\(error)"])
        }
    }

    package func end(profile: String, transactionID: String) async {
        _ = try? await client.send(["DEL", Self.key(profile, transactionID)])
    }

    package func isInFlight(profile: String, transactionID: String) async -> Bool {
        ((try? await client.send(["EXISTS", Self.key(profile, transactionID)]))?.integer ?? 0) > 0
    }
}
