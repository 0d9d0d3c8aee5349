import Foundation
import Logging
import ScepterProtocol
import ScepterRedis
import ScepterTesting
import Testing
@testable import ScepterEdge

@Suite("Redis audit sink: one stream entry per event, acknowledged before record returns", .timeLimit(.minutes(5)))
struct RedisAuditSinkTests {
    let stream = TestRedis.uniquePrefix("audit") + "stream"

    func event(_ index: Int) -> AuditEvent {
        AuditEvent(
            id: "event-\(index)", time: Date(timeIntervalSince1970: 1_800_000_000.123), edgeID: "edge-1",
            sourceAddress: "10.0.0.\(index)", profile: "corp", operation: .pkiOperation, messageType: "PKCSReq",
            transactionID: "tx-\(index)", outcome: .replay, failInfo: "badRequest", claimSubject: "device-\(index)",
            latencyMilliseconds: 12.5, details: "challenge already used by tx-0 \r\n\"quoted\"")
    }

    @Test func eachEventIsOneEntryWithItsIdAndItsJSON() async throws {
        let client = try RedisClient(url: TestRedis.url(), logger: Logger(label: "test"))
        let sink = RedisAuditSink(client: client, stream: stream)
        for index in 0..<3 { try await sink.record(event(index)) }

        let entries = try #require(try await client.send(["XRANGE", stream, "-", "+"]).array)
        #expect(entries.count == 3)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        for (index, entry) in entries.enumerated() {
            let fields = try #require(entry.array?.last?.array)
            #expect(fields.count == 4)
            #expect(fields[0].string == "id")
            #expect(fields[1].string == "event-\(index)")
            #expect(fields[2].string == "event")
            let json = try #require(fields[3].bytes)
            #expect(try decoder.decode(AuditEvent.self, from: Data(json)) == event(index))
        }
        _ = try await client.send(["DEL", stream])
        await client.close()
    }

    @Test("A full backlog refuses new events and never drops old ones")
    func aFullBacklogRefusesInsteadOfTrimming() async throws {
        let client = try RedisClient(url: TestRedis.url(), logger: Logger(label: "test"))
        let sink = RedisAuditSink(client: client, stream: stream, maxBacklog: 10)
        for index in 0..<10 { try await sink.record(event(index)) }
        await #expect { try await sink.record(event(10)) } throws: { error in
            (error as? RedisError)?.message.contains("BACKLOG") == true
        }
        let first = try await client.send(["XRANGE", stream, "-", "+", "COUNT", "1"])
        let firstFields = try #require(first.array?.first?.array?[1].array)
        #expect(firstFields[1].string == event(0).id, "the oldest event is still there")
        #expect(try await client.send(["XLEN", stream]).integer == 10)
        // Once the control plane has copied (and deleted) some, events are taken again.
        let oldest = try #require(first.array?.first?.array?[0].string)
        _ = try await client.send(["XDEL", stream, oldest])
        try await sink.record(event(10))
        _ = try await client.send(["DEL", stream])
        await client.close()
    }

    @Test func recordThrowsWhenRedisIsUnreachable() async throws {
        let port = try RedisServerProcess.freeLoopbackPort()
        let client = try RedisClient(url: "redis://127.0.0.1:\(port)/0", logger: Logger(label: "test"))
        let sink = RedisAuditSink(client: client)
        await #expect { try await sink.record(event(0)) } throws: { error in
            (error as? RedisError)?.code == .connectionFailed
        }
        await client.close()
    }
}
