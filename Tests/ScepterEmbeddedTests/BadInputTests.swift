import Foundation
import HTTPTypes
import ScepterEmbedded
import HummingbirdTesting
import NIOCore
import Testing
import ScepterControl
import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// Every kind of bad input gets the SPEC §4/§6 answer, and the server keeps serving.
@Suite("Bad input over HTTP", .timeLimit(.minutes(5)))
struct BadInputTests {
    @Test func garbageTruncatedEmptyAndFormBodiesAre400() async throws {
        let harness = try await EmbeddedHarness.make()
        let valid = try TestDevice(challenge: harness.server.challenge).pkcsReq(ra: harness.ra)
        let bodies: [(String, [UInt8], String)] = [
            ("garbage", Array("hello, world".utf8), "application/x-pki-message"),
            ("empty", [], "application/x-pki-message"),
            ("truncated", Array(valid.prefix(valid.count / 2)), "application/x-pki-message"),
            ("one byte", [0x30], "application/x-pki-message"),
            ("form", Array("message=abc&x=1".utf8), "application/x-www-form-urlencoded"),
            ("random", (0..<2048).map { _ in UInt8.random(in: 0...255) }, "application/octet-stream"),
        ]
        try await harness.test { client in
            for (name, body, contentType) in bodies {
                let (status, reply) = try await client.pkiOperation(body, contentType: contentType)
                #expect(status == .badRequest, "\(name)")
                #expect(String(decoding: reply, as: UTF8.self).hasPrefix("not a SCEP PKIMessage"), "\(name)")
            }
            try await client.execute(uri: "/scep?operation=PKIOperation&message=%%%not-base64***", method: .get) {
                #expect($0.status == .badRequest)
            }
        }
        // Unauthenticated garbage from one source: the first is audited, the rest counted (a flood costs no audit rows).
        #expect(try await harness.auditCount() == 1)
        #expect(Self.unaudited(harness, "malformed") == bodies.count)
    }

    @Test func oversizedBodiesAre413() async throws {
        let harness = try await EmbeddedHarness.make()
        try await harness.test { client in
            let (status, _) = try await client.pkiOperation([UInt8](repeating: 0x30, count: 256 * 1024 + 1))
            #expect(status == .contentTooLarge)
            let big = String(repeating: "A", count: 64 * 1024 + 4)
            try await client.execute(uri: "/scep?operation=PKIOperation&message=\(big)", method: .get) {
                #expect($0.status == .contentTooLarge)
            }
        }
        // Refused before decoding: audited (the first from this source) or counted.
        let events = try await harness.server.store.auditEvents(AuditQuery(outcome: .malformed))
        #expect(events.count == 1)
        #expect(events.allSatisfy { $0.details.contains("exceeds") })
        #expect(Self.unaudited(harness, "malformed") == 1)
    }

    @Test func wrongContentTypeWithAValidMessageIsServed() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge)
        let (status, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra), contentType: "text/plain") }
        #expect(status == .ok)
        #expect(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).status == .success)
    }

    @Test func base64PostBodyIsAccepted() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge)
        let encoded = Array(Base64.encode(try device.pkcsReq(ra: harness.ra)).utf8)
        let (status, body) = try await harness.test { try await $0.pkiOperation(encoded) }
        #expect(status == .ok)
        #expect(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).status == .success)
    }

    @Test func messageForAnotherRATamperedOrUnsupportedGetsSignedFailure() async throws {
        let harness = try await EmbeddedHarness.make()
        let otherCA = try TestPKI.makeCA()
        let otherRA = try TestPKI.makeLeaf(commonName: "Other RA", issuer: otherCA)
        let device = try TestDevice(challenge: harness.server.challenge)
        var tampered = try device.pkcsReq(ra: harness.ra)
        tampered[tampered.count - 3] ^= 0x40
        let cases: [(String, [UInt8], FailInfo)] = [
            ("encrypted to another RA", try device.pkcsReq(ra: otherRA.certificateDER), .badMessageCheck),
            ("tampered signature", tampered, .badMessageCheck),
        ]
        try await harness.test { client in
            for (name, message, failInfo) in cases {
                let (status, body) = try await client.pkiOperation(message)
                #expect(status == .ok, "\(name)")
                let reply = try SCEPClient.readReply(body, requester: try device.signer.keyPair())
                #expect(reply.status == .failure, "\(name)")
                #expect(reply.failInfo == failInfo, "\(name)")
            }
            // Still serving.
            let good = try TestDevice(challenge: harness.server.challenge)
            let (_, body) = try await client.pkiOperation(try good.pkcsReq(ra: harness.ra))
            #expect(try SCEPClient.readReply(body, requester: try good.signer.keyPair()).status == .success)
        }
        #expect(try await harness.server.store.auditEvents(AuditQuery(outcome: .badMessageCheck)).count == 1)
        #expect(Self.unaudited(harness, "bad_message_check") == 1)
    }

    /// `scepter_unaudited_refusals_total{outcome}` as the edge's metrics render it.
    static func unaudited(_ harness: EmbeddedHarness, _ outcome: String) -> Int {
        let text = String(decoding: harness.server.metrics.render(), as: UTF8.self)
        let prefix = "scepter_unaudited_refusals_total{outcome=\"\(outcome)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    @Test func weakKeyIsAPolicyViolation() async throws {
        let harness = try await EmbeddedHarness.make()
        let signer = try TestPKI.makeLeaf(commonName: "weak")
        let weak = try TestPKI.makeLeaf(commonName: "weak-key", key: .rsa1024)
        let csr = try TestPKI.makeCSR(commonName: "weak-key", challenge: harness.server.challenge, key: weak.privateKey)
        let message = try SCEPClient.request(.pkcsReq, content: csr, transactionID: "tx-weak", recipient: harness.ra, signer: try signer.keyPair())
        let (_, body) = try await harness.test { try await $0.pkiOperation(message) }
        let reply = try SCEPClient.readReply(body, requester: try signer.keyPair())
        #expect(reply.status == .failure)
        #expect(reply.failInfo == .badRequest)
        let events = try await harness.server.store.auditEvents(AuditQuery(outcome: .policyViolation))
        #expect(events.first?.details.contains("RSA key of 1024 bits is below the minimum of 2048") == true, "\(events)")
    }
}
