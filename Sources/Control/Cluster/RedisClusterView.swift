import Foundation
import ScepterProtocol
import ScepterRedis

/// The cluster's view in Redis: edges' heartbeats (`ClusterKeys.edges`,
/// `ClusterKeys.edge`) and the reload generation they poll.
package struct RedisClusterView: ClusterView {
    let redis: RedisClient
    /// An edge whose last heartbeat is older than this is not live.
    let liveness: Duration
    let now: @Sendable () -> Date

    package init(redis: RedisClient, liveness: Duration = .seconds(10), now: @escaping @Sendable () -> Date = { Date() }) {
        self.redis = redis
        self.liveness = liveness
        self.now = now
    }

    package func liveEdges() async throws -> [EdgeHeartbeat] {
        var heartbeats: [EdgeHeartbeat] = []
        for edge in try await liveEdgeIDs() {
            guard let json = try await redis.send(["GET", ClusterKeys.edge(edge)]).bytes,
                let heartbeat = try? InternalAPI.decoder().decode(EdgeHeartbeat.self, from: Data(json))
            else { continue }
            heartbeats.append(heartbeat)
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
