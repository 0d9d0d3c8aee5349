import Foundation
import Logging
import Testing
import ScepterProtocol
import ScepterRedis
import ScepterTesting
@testable import ScepterControl

/// The control plane's view of the edges' heartbeats, on a real Redis.
@Suite("Redis cluster view", .timeLimit(.minutes(1)))
struct RedisClusterViewTests {
    /// The shared test Redis, in a logical database of its own: the cluster
    /// keys have fixed names (`ClusterKeys`), unlike other tests' prefixes.
    static func client() throws -> RedisClient {
        var configuration = try RedisClient.Configuration(url: try TestRedis.url())
        configuration.database = 11
        return RedisClient(configuration: configuration, logger: Logger(label: "test"))
    }

    @Test("A heartbeat that does not decode leaves its edge out and is logged once, naming the edge")
    func unreadableHeartbeatIsLoggedOnce() async throws {
        let redis = try Self.client()
        let warnings = RecordedWarnings()
        let view = RedisClusterView(redis: redis, logger: Logger(label: "test") { _ in warnings })
        do {
            let now = Date()
            let readable = EdgeHeartbeat(edgeID: "edge-readable", version: "0.3.0", startedAt: now, at: now, anchors: [:], lastReload: nil)
            let millis = Int64(now.timeIntervalSince1970 * 1000)
            _ = try await redis.send(["DEL", ClusterKeys.edges])
            _ = try await redis.send(["SET", ClusterKeys.edge("edge-readable"), Array(try InternalAPI.encoder().encode(readable)), "PX", 60_000])
            _ = try await redis.send(["SET", ClusterKeys.edge("edge-garbled"), "{\"edgeID\": 7}", "PX", 60_000])
            _ = try await redis.send(["ZADD", ClusterKeys.edges, millis, "edge-readable", millis, "edge-garbled"])

            #expect(try await view.liveEdges().map(\.edgeID) == ["edge-readable"])
            #expect(try await view.liveEdges().map(\.edgeID) == ["edge-readable"])
            let logged = warnings.messages.filter { $0.contains("edge-garbled") }
            #expect(logged.count == 1, "\(warnings.messages)")
            #expect(logged.first?.contains("GET /api/v1/profiles") == true)
            #expect(!warnings.messages.contains { $0.contains("edge-readable") })
        } catch {
            await redis.close()
            throw error
        }
        _ = try? await redis.send(["DEL", ClusterKeys.edges, ClusterKeys.edge("edge-readable"), ClusterKeys.edge("edge-garbled")])
        await redis.close()
    }
}
