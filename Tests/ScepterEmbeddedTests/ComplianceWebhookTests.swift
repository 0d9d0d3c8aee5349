import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting

/// Gate 9 against a receiver on loopback that does what docs/intune.md asks
/// of one: it checks `X-Scepter-Signature` over the timestamp and the exact
/// body, refuses stale timestamps, then judges the device.
@Suite("Compliance webhook in embedded mode", .timeLimit(.minutes(5)))
struct ComplianceWebhookTests {
    static let secret = "0123456789abcdef0123456789abcdef-receiver"

    /// What the receiver saw: signatures that verified, and those it refused.
    final class Receiver: Sendable {
        let verified = Mutex(0)
        let refused = Mutex(0)
        /// Set once the test no longer needs "slow-device" held.
        let released = Mutex(false)

        /// Compliant unless the body names "noncompliant-device"; "slow-device"
        /// is held until released (at most 20 s); "redirect-device" is sent elsewhere.
        func router(secret: String) -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/compliance") { request, context -> Response in
                let body = Array((try await request.body.collect(upTo: 65_536)).readableBytesView)
                guard Self.isSigned(body, headers: request.headers, secret: secret) else {
                    self.refused.withLock { $0 += 1 }
                    return Response(status: .unauthorized)
                }
                self.verified.withLock { $0 += 1 }
                let text = String(decoding: body, as: UTF8.self)
                if text.contains("slow-device") {
                    let deadline = ContinuousClock.now + .seconds(20)
                    while !self.released.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                }
                if text.contains("redirect-device") {
                    return Response(status: .temporaryRedirect, headers: [.location: "/compliance-elsewhere"])
                }
                let compliant = !text.contains("noncompliant-device")
                let answer = #"{"compliant": \#(compliant), "reason": "disk not encrypted"}"#
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
            }
            router.post("/compliance-elsewhere") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"compliant": true}"#)))
            }
            return router
        }

        /// The receiver's check: a timestamp within 5 minutes of now, and
        /// HMAC-SHA256(secret, timestamp + "." + body) equal to the header's.
        static func isSigned(_ body: [UInt8], headers: HTTPFields, secret: String) -> Bool {
            guard let timestamp = headers[HTTPField.Name("X-Scepter-Timestamp")!], let seconds = Int64(timestamp),
                abs(Int64(Date().timeIntervalSince1970) - seconds) <= 300,
                let signature = headers[HTTPField.Name("X-Scepter-Signature")!], signature.hasPrefix("sha256=")
            else { return false }
            let mac = HMAC<SHA256>.authenticationCode(for: Array((timestamp + ".").utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
            let expected = mac.map { String(format: "%02x", $0) }.joined()
            return ConstantTime.equals(String(signature.dropFirst("sha256=".count)), expected)
        }
    }

    static func enroll(_ setup: IntuneEnrollmentTests.Setup, device: String, transactionID: String) async throws -> SCEPClient.Reply {
        try await IntuneEnrollmentTests.enroll(
            setup, challenge: try setup.minter.mint(claims: IntuneEnrollmentTests.claims(device: device)), transactionID: transactionID)
    }

    @Test("Signed requests: the webhook decides, and a refusal, a timeout or a redirect fails closed")
    func complianceWebhookDecidesAndFailsClosed() async throws {
        let receiver = Receiver()
        try await Application(router: receiver.router(secret: Self.secret)).test(.live) { client in
            let setup = try await IntuneEnrollmentTests.setup(extra: [
                "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "http://127.0.0.1:\(client.port!)/compliance",
                // Long enough for a busy machine to answer the other requests in time.
                "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_TIMEOUT": "5s",
                "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": Self.secret,
            ])
            #expect(try await Self.enroll(setup, device: "good-device", transactionID: "tx-good").status == .success)
            #expect(try await Self.enroll(setup, device: "noncompliant-device", transactionID: "tx-noncompliant").failInfo == .badRequest)
            #expect(try await Self.enroll(setup, device: "slow-device", transactionID: "tx-slow").failInfo == .badRequest)
            receiver.released.withLock { $0 = true }
            #expect(try await Self.enroll(setup, device: "redirect-device", transactionID: "tx-redirect").failInfo == .badRequest)
            let events = try await setup.harness.server.store.auditEvents(AuditQuery(outcome: .complianceFailed))
            #expect(events.count == 3)
            #expect(events.contains { $0.details.contains("disk not encrypted") })
            #expect(events.contains { $0.details.contains("did not answer within") })
            #expect(events.contains { $0.details.contains("answered HTTP 307") }, "\(events.map(\.details))")
            #expect(receiver.verified.withLock { $0 } == 4)
            #expect(receiver.refused.withLock { $0 } == 0)
        }
    }

    @Test("A request signed with another secret is refused by the receiver, so the enrollment is")
    func aWrongSignatureIsRefused() async throws {
        let receiver = Receiver()
        try await Application(router: receiver.router(secret: Self.secret)).test(.live) { client in
            let setup = try await IntuneEnrollmentTests.setup(extra: [
                "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "http://127.0.0.1:\(client.port!)/compliance",
                "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": String(Self.secret.reversed()),
            ])
            #expect(try await Self.enroll(setup, device: "good-device", transactionID: "tx-forged").failInfo == .badRequest)
            let event = try #require(try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-forged")).first)
            #expect(event.outcome == .complianceFailed)
            #expect(event.details.contains("answered HTTP 401"), "\(event.details)")
            #expect(receiver.refused.withLock { $0 } == 1)
            #expect(receiver.verified.withLock { $0 } == 0)
        }
    }

    @Test("The receiver's check itself refuses an unsigned request, a stale timestamp and a changed body")
    func theReceiversCheckRefusesForgeries() {
        let body = Array(#"{"profile":"corp"}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        func headers(_ timestamp: Int64, _ signed: [UInt8]) -> HTTPFields {
            let signature = ComplianceSignature(secret: Array(Self.secret.utf8)).signature(timestamp: timestamp, body: signed)
            return [HTTPField.Name("X-Scepter-Timestamp")!: String(timestamp), HTTPField.Name("X-Scepter-Signature")!: signature]
        }
        #expect(Receiver.isSigned(body, headers: headers(now, body), secret: Self.secret))
        #expect(!Receiver.isSigned(body, headers: [:], secret: Self.secret))
        #expect(!Receiver.isSigned(body, headers: headers(now - 3600, body), secret: Self.secret))
        #expect(!Receiver.isSigned(body + [0x20], headers: headers(now, body), secret: Self.secret))
        #expect(!Receiver.isSigned(body, headers: headers(now, body), secret: "another secret of at least 32 bytes....."))
    }
}
