import Foundation
import Logging
import ScepterProtocol
import ScepterRedis
import Synchronization

/// The cluster's view in Redis: edges' heartbeats (`ClusterKeys.edges`,
/// `ClusterKeys.edge`) and the reload generation they poll.
package struct RedisClusterView: ClusterView {
    let redis: RedisClient
    /// An edge whose last heartbeat is older than this is not live.
    let liveness: Duration
    let now: @Sendable () -> Date
    let logger: Logger
    /// Edges whose unreadable heartbeat was logged: once each, not on every console refresh.
    private let unreadable = UnreadableHeartbeats()

    package init(
        redis: RedisClient, liveness: Duration = .seconds(10), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.redis = redis
        self.liveness = liveness
        self.logger = logger
        self.now = now
    }

    package func liveEdges() async throws -> [EdgeHeartbeat] {
        var heartbeats: [EdgeHeartbeat] = []
        for edge in try await liveEdgeIDs() {
            guard let json = try await redis.send(["GET", ClusterKeys.edge(edge)]).bytes else { continue }
            do {
                heartbeats.append(try InternalAPI.decoder().decode(EdgeHeartbeat.self, from: Data(json)))
            } catch {
                if unreadable.first(edge) {
                    logger.warning(
                        "edge \(edge)'s heartbeat does not decode, so the console and GET /api/v1/profiles leave it out: \(error); run edges and control planes of one release")
                }
            }
        }
        return heartbeats
    }

    package func reloadTrust(wait: Duration) async throws -> ReloadRound {
        let live = try await liveEdgeIDs()
        let generation = try await redis.send(["INCR", ClusterKeys.reloadGeneration]).integer ?? 0
        // Until every live edge answered, or the wait is over.
        var reports: [String: ReloadReport] = [:]
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            if let fields = try? await redis.send(["HGETALL", ClusterKeys.reloadResults(generation)]).array {
                var index = 0
                while index + 1 < fields.count {
                    if let edge = fields[index].string, let json = fields[index + 1].bytes,
                        let report = try? InternalAPI.decoder().decode(ReloadReport.self, from: Data(json))
                    {
                        reports[edge] = report
                    }
                    index += 2
                }
            }
            if Set(live).isSubset(of: reports.keys) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return ReloadRound(generation: generation, asked: live, reports: reports)
    }

    private func liveEdgeIDs() async throws -> [String] {
        let since = Int64((now().timeIntervalSince1970 - liveness.timeInterval) * 1000)
        let reply = try await redis.send(["ZRANGEBYSCORE", ClusterKeys.edges, since, "+inf"])
        return (reply.array ?? []).compactMap(\.string)
    }
}

private final class UnreadableHeartbeats: Sendable {
    private let logged = Mutex<Set<String>>([])

    /// Whether `edge` is named for the first time.
    func first(_ edge: String) -> Bool { logged.withLock { $0.insert(edge).inserted } }
}
