import AsyncHTTPClient
import Foundation
import NIOCore
import ScepterProtocol
import ScepterTesting
import Testing

/// An edge with several event loops spreads its work over them. A task
/// resumes on the loop that answered what it awaited, and the edge's one
/// Redis connection lives on one loop: unless each request is kept on its
/// connection's loop, every handler goes on, RSA work included, on the
/// Redis loop (one loop did 89 % of an edge's work when that was so).
@Suite("Cluster: an edge's event loops share its work", .serialized, .timeLimit(.minutes(3)))
struct EventLoopClusterTests {
    /// CPU time so far of each of the process's event-loop threads, in
    /// nanoseconds (schedstat's first field). A thread that ends while it is
    /// read (the edge's other threads come and go) is left out.
    static func loopCPU(pid: Int32) throws -> [String: Int] {
        var times: [String: Int] = [:]
        for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            guard let name = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8), name.hasPrefix("NIO-SGLTN"),
                let schedstat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8)
            else { continue }
            times[task] = Int(schedstat.split(separator: " ").first ?? "") ?? 0
        }
        return times
    }

    @Test("With two loops, 48 enrollments over 8 connections keep both loops busy")
    func bothLoopsWork() async throws {
        try await ClusterTests.withCluster(edges: 1, environment: ["NIO_SINGLETON_GROUP_LOOP_COUNT": "2"]) { cluster in
            let edge = try #require(cluster.edges.first)
            let messages = try (0..<48).map { index in
                let device = try TestDevice(commonName: "loops-\(index)", challenge: TestCluster.staticPassword)
                return (device, try device.pkcsReq(ra: cluster.ra))
            }
            let before = try Self.loopCPU(pid: edge.pid)
            #expect(before.count == 2, "event-loop threads: \(before)")
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)
            // Nothing that can throw between here and the do: a client released unshut traps, taking every test with it.
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            do {
                for batch in stride(from: 0, to: messages.count, by: 8) {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (device, message) in messages[batch..<batch + 8] {
                            group.addTask {
                                let answer = try await cluster.pkiOperation(message, edge: 0, client: client)
                                #expect(try TestCluster.reply(answer, device: device).status == .success)
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            } catch {
                try await client.shutdown()
                throw error
            }
            try await client.shutdown()
            let after = try Self.loopCPU(pid: edge.pid)
            let spent = after.map { task, time in time - (before[task] ?? 0) }.sorted()
            // Kept on their connections' loops: about half each. On the Redis loop: one did ~90 %.
            #expect(spent.count == 2 && Double(spent[0]) >= 0.25 * Double(spent[1]), "CPU of the two loops (ns): \(spent)")
        }
    }
}
