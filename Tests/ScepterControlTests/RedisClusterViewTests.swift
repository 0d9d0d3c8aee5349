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
        // Live for an hour: other suites pause the shared Redis (timeouts under test), longer than the default 10 s.
        let view = RedisClusterView(redis: redis, liveness: .seconds(3600), logger: Logger(label: "test") { _ in warnings })
        // Names of this run's own: another test process may run this test against the same Redis at once.
        let run = UUID().uuidString.prefix(8).lowercased()
        let (good, garbled) = ("edge-readable-\(run)", "edge-garbled-\(run)")
        do {
            let now = Date()
            let readable = EdgeHeartbeat(edgeID: good, version: "0.3.0", startedAt: now, at: now, anchors: [:], lastReload: nil)
            let millis = Int64(now.timeIntervalSince1970 * 1000)
            _ = try await redis.send(["SET", ClusterKeys.edge(good), Array(try InternalAPI.encoder().encode(readable)), "PX", 3_600_000])
            _ = try await redis.send(["SET", ClusterKeys.edge(garbled), "{\"edgeID\": 7}", "PX", 3_600_000])
            _ = try await redis.send(["ZADD", ClusterKeys.edges, millis, good, millis, garbled])

            #expect(try await view.liveEdges().map(\.edgeID).filter { $0.hasSuffix(run) } == [good])
            #expect(try await view.liveEdges().map(\.edgeID).filter { $0.hasSuffix(run) } == [good])
            let logged = warnings.messages.filter { $0.contains(garbled) }
            #expect(logged.count == 1, "\(warnings.messages)")
            #expect(logged.first?.contains("GET /api/v1/profiles") == true)
            #expect(!warnings.messages.contains { $0.contains(good) })
        } catch {
            await redis.close()
            throw error
        }
        _ = try? await redis.send(["ZREM", ClusterKeys.edges, good, garbled])
        _ = try? await redis.send(["DEL", ClusterKeys.edge(good), ClusterKeys.edge(garbled)])
        await redis.close()
    }
}
