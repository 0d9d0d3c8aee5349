import Foundation
import Logging
import ScepterProtocol
import ScepterRedis
import ServiceLifecycle

/// An edge's presence in the cluster (SPEC §7, §8): every `interval` it
/// publishes its heartbeat (id, version, the trust anchors it uses, its last
/// reload, each profile's effective settings) and answers cluster-wide reload requests.
///
/// The control plane asks for a reload by incrementing
/// `ClusterKeys.reloadGeneration`; each edge notices on its next beat, reloads
/// (a bad bundle keeps the old pool) and writes its `ReloadReport` under
/// `ClusterKeys.reloadResults(generation)`. Polling a counter instead of
/// pub/sub means an edge that was briefly away still sees the newest request.
/// Redis being down only delays beats; the edge keeps serving.
package struct EdgeHeartbeatService: Service {
    let client: RedisClient
    let reloader: TrustAnchorReloader
    let edgeID: String
    /// Read once: an edge's settings change only with a restart.
    let profiles: [String: EdgeProfileSettings]
    let interval: Duration
    let logger: Logger
    let startedAt = Date()

    package init(
        client: RedisClient, reloader: TrustAnchorReloader, edgeID: String, profiles: [String: EdgeProfileSettings] = [:],
        interval: Duration = .seconds(2), logger: Logger
    ) {
        self.client = client
        self.reloader = reloader
        self.edgeID = edgeID
        self.profiles = profiles
        self.interval = interval
        self.logger = logger
    }

    /// A heartbeat expires after this many missed beats.
    static let missedBeats = 5

    package func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.beatUntilCancelled() }
        // Leave the cluster at once rather than when the heartbeat expires.
        _ = try? await client.send(["ZREM", ClusterKeys.edges, edgeID])
        _ = try? await client.send(["DEL", ClusterKeys.edge(edgeID)])
    }

    private func beatUntilCancelled() async throws {
        // Requests made before this edge started are not for it: it loaded its anchors at boot.
        var seenGeneration = try? await currentGeneration()
        var failing = false
        while !Task.isCancelled {
            do {
                let generation = try await currentGeneration()
                if let seen = seenGeneration, generation > seen {
                    try await answerReload(generation)
                }
                seenGeneration = generation
                try await beat()
                if failing { logger.notice("heartbeat to Redis restored") }
                failing = false
            } catch {
                if !failing { logger.warning("heartbeat to Redis failed; retrying", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try await Task.sleep(for: interval)
        }
    }

    private func currentGeneration() async throws -> Int64 {
        try await client.send(["GET", ClusterKeys.reloadGeneration]).integer ?? 0
    }

    private func answerReload(_ generation: Int64) async throws {
        let report = reloader.reload(generation: generation)
        logger.notice(
            "cluster-wide trust anchor reload", metadata: ["generation": "\(generation)", "succeeded": "\(report.succeeded)"])
        let key = ClusterKeys.reloadResults(generation)
        _ = try await client.send(["HSET", key, edgeID, Array(try InternalAPI.encoder().encode(report))])
        _ = try await client.send(["EXPIRE", key, 3600])
    }

    private func beat() async throws {
        let now = Date()
        let heartbeat = EdgeHeartbeat(
            edgeID: edgeID, version: ScepterRelease.version, startedAt: startedAt, at: now, anchors: reloader.anchors,
            lastReload: reloader.lastReport, profiles: profiles)
        let ttl = Int((interval * Self.missedBeats).timeInterval * 1000)
        _ = try await client.send(["SET", ClusterKeys.edge(edgeID), Array(try InternalAPI.encoder().encode(heartbeat)), "PX", max(ttl, 1000)])
        _ = try await client.send(["ZADD", ClusterKeys.edges, Int64(now.timeIntervalSince1970 * 1000), edgeID])
        // Forget edges gone for a day.
        _ = try await client.send(["ZREMRANGEBYSCORE", ClusterKeys.edges, "-inf", Int64((now.timeIntervalSince1970 - 86_400) * 1000)])
    }
}
