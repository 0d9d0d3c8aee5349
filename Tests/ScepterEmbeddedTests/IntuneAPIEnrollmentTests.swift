import Crypto
import _CryptoExtras
import Foundation
import HTTPTypes
import NIOCore
import HummingbirdTesting
import IntuneStandIn
import SwiftASN1
import Testing
import X509
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting

/// `INTUNE_MODE=intune-api` through the whole embedded path, against the
/// Entra/Graph/Intune stand-in on a real port (SPEC §5.2, §6).
@Suite("Intune online validation (intune-api) in embedded mode", .timeLimit(.minutes(2)))
struct IntuneAPIEnrollmentTests {
    struct Setup {
        let harness: EmbeddedHarness
        let intune: IntuneStandIn
    }

    static func environment(_ intune: IntuneStandIn, extra: [String: String]) -> [String: String] {
        intune.environment().merging([
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_INTUNE_REVOCATION_INTERVAL": "0",
            "SCEPTER_INTUNE_BREAKER_THRESHOLD": "2",
            "SCEPTER_INTUNE_BREAKER_COOLDOWN": "1s",
        ]) { $1 }.merging(extra) { $1 }
    }

    /// A harness and a stand-in for one test; the stand-in is stopped afterwards.
    static func with(
        extra: [String: String] = [:], clientCertificate: Certificate? = nil, _ body: (Setup) async throws -> Void
    ) async throws {
        let intune = try await IntuneStandIn.start(clientCertificate: clientCertificate)
        do {
            let harness = try await EmbeddedHarness.make(environment: environment(intune, extra: extra))
            try await body(Setup(harness: harness, intune: intune))
            #expect(intune.violations.isEmpty, "contract violations: \(intune.violations)")
        } catch {
            await intune.stop()
            throw error
        }
        await intune.stop()
    }

    struct Enrolled {
        var status: HTTPResponse.Status
        var reply: SCEPClient.Reply?
    }

    static func enroll(_ setup: Setup, challenge: String, transactionID: String = UUID().uuidString, device: TestDevice? = nil) async throws -> Enrolled {
        let device = try device ?? TestDevice(commonName: "LAPTOP-9", challenge: challenge, dnsNames: ["laptop-9.corp.example"])
        let message = try device.pkcsReq(ra: setup.harness.ra, transactionID: transactionID)
        let (status, body) = try await setup.harness.test { try await $0.pkiOperation(message, profile: "corp") }
        guard status == .ok else { return Enrolled(status: status, reply: nil) }
        return Enrolled(status: status, reply: try SCEPClient.readReply(body, requester: try device.signer.keyPair()))
    }

    /// Whether a fresh enrollment (or one with `challenge`) gets SUCCESS.
    static func succeeds(_ setup: Setup, challenge: String? = nil) async throws -> Bool {
        try await enroll(setup, challenge: challenge ?? setup.intune.challenge()).reply?.status == .success
    }

    static func expectSuccess(_ setup: Setup, challenge: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let succeeded = try await succeeds(setup, challenge: challenge)
        #expect(succeeded, sourceLocation: sourceLocation)
    }

    static func audit(_ setup: Setup, _ transactionID: String) async throws -> AuditEvent {
        try #require(try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: transactionID)).first)
    }

    // MARK: Success

    @Test("Success: one validateRequest, the certificate, one successNotification with its thumbprint and serial")
    func successIsNotifiedOnce() async throws {
        try await Self.with { setup in
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-api-ok")
            let reply = try #require(enrolled.reply)
            #expect(reply.status == .success)
            let der = try #require(reply.certificates.first)
            let certificate = try Certificate(derEncoded: der)
            #expect(try certificate.issuer == (try setup.harness.caCertificate).subject)

            #expect(setup.intune.calls(.validate).count == 1)
            let notification = try #require(setup.intune.successNotifications.first)
            #expect(setup.intune.successNotifications.count == 1)
            #expect(setup.intune.failureNotifications.isEmpty)
            #expect(notification.transactionID == "tx-api-ok")
            #expect(notification.thumbprint?.lowercased() == Insecure.SHA1.hash(data: der).map { String(format: "%02x", $0) }.joined())
            let serial = try #require(notification.serialNumber)
            #expect(try await setup.harness.server.store.certificate(serialNumber: serial)?.der == der)

            let event = try await Self.audit(setup, "tx-api-ok")
            #expect(event.outcome == .success)
            let validateID = try #require(setup.intune.calls(.validate).first?.clientRequestID)
            #expect(event.details.contains("validateRequest Success (client-request-id \(validateID))"))
            #expect(event.details.contains("successNotification acknowledged (client-request-id \(notification.clientRequestID))"))
        }
    }

    @Test("A retransmitted transaction gets its first answer without asking Intune again")
    func retransmissionCallsIntuneOnce() async throws {
        try await Self.with { setup in
            let device = try TestDevice(commonName: "LAPTOP-9", challenge: setup.intune.challenge(), dnsNames: ["laptop-9.corp.example"])
            let first = try await Self.enroll(setup, challenge: "", transactionID: "tx-again", device: device)
            let second = try await Self.enroll(setup, challenge: "", transactionID: "tx-again", device: device)
            #expect(first.reply?.status == .success)
            #expect(second.reply?.certificates.first == first.reply?.certificates.first)
            #expect(setup.intune.calls(.validate).count == 1)
            #expect(setup.intune.successNotifications.count == 1)

            let refusedDevice = try TestDevice(
                commonName: "LAPTOP-9", challenge: setup.intune.challenge(answering: "ChallengeExpired"), dnsNames: ["laptop-9.corp.example"])
            for _ in 0..<2 {
                let refused = try await Self.enroll(setup, challenge: "", transactionID: "tx-refused-again", device: refusedDevice)
                #expect(refused.reply?.failInfo == .badTime)
            }
            #expect(setup.intune.calls(.validate).count == 2)
        }
    }

    @Test("The same challenge in another transaction is a replay, refused before Intune is asked")
    func challengeIsSingleUse() async throws {
        try await Self.with { setup in
            let challenge = setup.intune.challenge()
            try await Self.expectSuccess(setup, challenge: challenge)
            let again = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-replay")
            #expect(again.reply?.failInfo == .badRequest)
            #expect(try await Self.audit(setup, "tx-replay").outcome == .replay)
            #expect(setup.intune.calls(.validate).count == 1)
        }
    }

    // MARK: Refusals

    static let codes: [(code: String, outcome: Outcome, failInfo: FailInfo)] = [
        ("ChallengeExpired", .expired, .badTime),
        ("ChallengeInvalidTimestamp", .expired, .badTime),
        ("ChallengeDecryptionError", .signatureInvalid, .badMessageCheck),
        ("ChallengeDeserializationError", .malformed, .badRequest),
        ("CertificateRequestDecodingFailed", .malformed, .badRequest),
        ("SubjectNameMismatch", .claimMismatch, .badRequest),
        ("SubjectAltNameMismatch", .claimMismatch, .badRequest),
        ("NotCompliant", .complianceFailed, .badRequest),
        ("ScepProfileNoLongerTargetedToTheClient", .intuneRejected, .badRequest),
        ("DeviceNotFound", .intuneRejected, .badRequest),
        ("SecretKeyExpired", .expired, .badTime),
        ("SomethingMicrosoftAddsLater", .intuneRejected, .badRequest),
    ]

    @Test("Each Microsoft code: its failInfo, its label, the code and client-request-id in the audit row, nothing issued", arguments: codes)
    func refusalCodes(_ expected: (code: String, outcome: Outcome, failInfo: FailInfo)) async throws {
        try await Self.with { setup in
            let transaction = "tx-\(expected.code)"
            let enrolled = try await Self.enroll(
                setup, challenge: setup.intune.challenge(answering: expected.code, description: "as the test asked"), transactionID: transaction)
            #expect(enrolled.reply?.status == .failure)
            #expect(enrolled.reply?.failInfo == expected.failInfo)
            let event = try await Self.audit(setup, transaction)
            #expect(event.outcome == expected.outcome)
            let requestID = try #require(setup.intune.calls(.validate).first?.clientRequestID)
            #expect(event.details.contains("validateRequest \(expected.code) (client-request-id \(requestID))"), "\(event.details)")
            #expect(event.details.contains("as the test asked"))
            #expect(event.serialNumber == nil)
            #expect(setup.intune.successNotifications.isEmpty)
            #expect(setup.intune.failureNotifications.isEmpty)
        }
    }

    @Test(
        "A validateRequest answer that is no verdict is refused, audited with the reason, and issues nothing",
        arguments: [
            (200, "text/html", "<html><body>Sign in to continue</body></html>"),
            (200, "text/plain", "this is not json"),
            (200, "application/json", #"{"errorDescription":"no code here"}"#),
            (200, "application/json", #"{"code":""}"#),
            (400, "application/json", #"{"error":"bad request"}"#),
        ])
    func answersThatAreNoVerdict(_ answer: (Int, String, String)) async throws {
        try await Self.with { setup in
            setup.intune.set(.validate, .body(status: answer.0, contentType: answer.1, answer.2))
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-no-verdict")
            #expect(enrolled.reply?.status == .failure)
            #expect(enrolled.reply?.failInfo == .badRequest)
            let event = try await Self.audit(setup, "tx-no-verdict")
            #expect(event.outcome == .intuneRejected)
            #expect(event.details.contains("gave no verdict"), "\(event.details)")
            #expect(setup.intune.successNotifications.isEmpty)
            #expect(try await setup.harness.server.store.enrollments(profile: "corp", transactionID: "tx-no-verdict").first?.serialNumber == nil)
        }
    }

    @Test(
        "Oversized, binary or empty challenges are refused at the edge without a call to Intune",
        arguments: [
            (String(repeating: "A", count: 20_000), Outcome.malformed),
            ("abc\u{01}def\u{7f}" + String(repeating: "x", count: 300), Outcome.malformed),
            ("challenge with spaces " + String(repeating: "x", count: 300), Outcome.malformed),
            ("ünïcödé" + String(repeating: "x", count: 300), Outcome.malformed),
        ])
    func badChallengesNeverReachIntune(_ input: (String, Outcome)) async throws {
        try await Self.with { setup in
            let enrolled = try await Self.enroll(setup, challenge: input.0, transactionID: "tx-bad-challenge")
            #expect(enrolled.reply?.failInfo == .badRequest)
            let event = try await Self.audit(setup, "tx-bad-challenge")
            #expect(event.outcome == input.1)
            #expect(!event.details.contains(String(input.0.prefix(50))), "the challenge itself is never recorded")
            #expect(setup.intune.calls(.validate).isEmpty)
        }
    }

    @Test("A static password beside intune-api issues without asking Intune")
    func staticPasswordBeside() async throws {
        try await Self.with(extra: ["SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "static-and-long-enough"]) { setup in
            let enrolled = try await Self.enroll(setup, challenge: "static-and-long-enough", transactionID: "tx-static")
            #expect(enrolled.reply?.status == .success)
            #expect(setup.intune.calls.isEmpty)
            let intune = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-intune")
            #expect(intune.reply?.status == .success)
        }
    }

    // MARK: Notification failures

    @Test("successNotification failing after its retries: no certificate delivered, the certificate revoked, failureNotification sent")
    func notificationFailureWithholdsTheCertificate() async throws {
        try await Self.with { setup in
            setup.intune.set(.successNotification, .status(500))
            let device = try TestDevice(commonName: "LAPTOP-9", challenge: setup.intune.challenge(), dnsNames: ["laptop-9.corp.example"])
            let enrolled = try await Self.enroll(setup, challenge: "", transactionID: "tx-unnotified", device: device)
            #expect(enrolled.reply?.status == .failure)
            #expect(enrolled.reply?.failInfo == .badRequest)
            #expect(enrolled.reply?.certificates.isEmpty == true)
            #expect(setup.intune.calls(.successNotification).count == 3)

            let event = try await Self.audit(setup, "tx-unnotified")
            #expect(event.outcome == .notificationFailed)
            let recorded = try #require(try await setup.harness.server.store.enrollments(profile: "corp", transactionID: "tx-unnotified").first)
            #expect(recorded.status == .rejected)
            let serial = try #require(recorded.serialNumber)
            #expect(try await setup.harness.server.store.certificate(serialNumber: serial)?.status == .revoked)
            #expect(try await setup.harness.server.store.revocations(issuer: "dev").map(\.serialNumber).contains(serial))
            let failure = try #require(setup.intune.failureNotifications.first)
            #expect(failure.transactionID == "tx-unnotified")
            #expect(failure.hResult == Int(Int32(bitPattern: 0x8000_4005)))

            // The device trying again gets the same refusal, never the certificate.
            setup.intune.set(.successNotification, .normal)
            let retried = try await Self.enroll(setup, challenge: "", transactionID: "tx-unnotified", device: device)
            #expect(retried.reply?.status == .failure)
            #expect(retried.reply?.certificates.isEmpty == true)
            #expect(setup.intune.calls(.validate).count == 1)
        }
    }

    @Test("A successNotification never sent (its token refresh refused) is 503, not a revocation: the retransmission notifies and delivers")
    func unsentNotificationIsUnavailable() async throws {
        try await Self.with { setup in
            try await Self.expectSuccess(setup)  // tokens and discovery cached
            // The notification's token is refused (401); the refresh it triggers is refused too: nothing reached Intune.
            setup.intune.set(.successNotification, .status(401), times: 1)
            setup.intune.set(.token, .status(400))
            let device = try TestDevice(commonName: "LAPTOP-9", challenge: setup.intune.challenge(), dnsNames: ["laptop-9.corp.example"])
            let first = try await Self.enroll(setup, challenge: "", transactionID: "tx-unsent", device: device)
            #expect(first.status == .serviceUnavailable)
            let held = try #require(try await setup.harness.server.store.enrollments(profile: "corp", transactionID: "tx-unsent").first)
            #expect(held.status == .notifying)
            let serial = try #require(held.serialNumber)
            #expect(try await setup.harness.server.store.certificate(serialNumber: serial)?.status == .active)
            #expect(setup.intune.failureNotifications.isEmpty)

            setup.intune.set(.token, .normal)
            let retried = try await Self.enroll(setup, challenge: "", transactionID: "tx-unsent", device: device)
            #expect(retried.reply?.status == .success)
            #expect(try retried.reply.flatMap { try $0.certificates.first.map { try Certificate(derEncoded: $0).serialNumber.hexString } } == serial)
            #expect(setup.intune.calls(.validate).count == 2, "one for each device: the retransmission is not validated again")
        }
    }

    @Test("A throttled successNotification (429, Retry-After) is retried and the certificate delivered")
    func throttledNotificationIsRetried() async throws {
        try await Self.with { setup in
            setup.intune.set(.successNotification, .status(429, retryAfter: 1), times: 1)
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge())
            #expect(enrolled.reply?.status == .success)
            let attempts = setup.intune.calls(.successNotification)
            #expect(attempts.count == 2)
            if attempts.count == 2 { #expect(attempts[1].at.timeIntervalSince(attempts[0].at) >= 0.9) }
            #expect(setup.intune.successNotifications.count == 1)
        }
    }

    // MARK: Intune and Entra unavailable

    @Test("Intune down: 503 with Retry-After, the breaker opens (no more calls), then closes once Intune is back")
    func breakerOpensAndCloses() async throws {
        // A cooldown long enough that the breaker is still open when the test looks, on a busy machine.
        try await Self.with(extra: ["SCEPTER_INTUNE_BREAKER_COOLDOWN": "8s"]) { setup in
            setup.intune.set(.validate, .status(500))
            for index in 0..<2 {
                let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-down-\(index)")
                #expect(enrolled.status == .serviceUnavailable)
                #expect(try await Self.audit(setup, "tx-down-\(index)").outcome == .unavailable)
            }
            let opened = ContinuousClock.now
            #expect(setup.intune.calls(.validate).count == 2)
            // Open: refused without a call (unless a very busy machine took the whole cooldown to get here).
            let blocked = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-blocked")
            #expect(blocked.status == .serviceUnavailable)
            if ContinuousClock.now - opened < .seconds(8) {
                #expect(setup.intune.calls(.validate).count == 2)
                #expect(try await Self.audit(setup, "tx-blocked").details.contains("SCEPTER_INTUNE_BREAKER_COOLDOWN"))
                #expect(setup.harness.server.intune["corp"]?.status.services.first?.breaker == .open)
            }

            setup.intune.set(.validate, .normal)
            // After the cooldown the probe goes through and closes it.
            let deadline = ContinuousClock.now + .seconds(30)
            var recovered = false
            while !recovered, ContinuousClock.now < deadline {
                recovered = try await Self.succeeds(setup)
                if !recovered { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(recovered)
            #expect(setup.harness.server.intune["corp"]?.status.services.first?.breaker == .closed)
            let metrics = String(decoding: try await setup.harness.test { client in
                try await client.execute(uri: "/metrics", method: .get) { Array($0.body.readableBytesView) }
            }, as: UTF8.self)
            #expect(metrics.contains(#"scepter_intune_api_requests_total{call="validateRequest",code="500"} "#), "\(metrics)")
            #expect(metrics.contains(#"scepter_intune_api_requests_total{call="validateRequest",code="breaker_open"}"#))
        }
    }

    @Test("A timed-out validateRequest is 503, never a certificate")
    func timeoutIsUnavailable() async throws {
        try await Self.with(extra: ["SCEPTER_PROFILE_CORP_INTUNE_TIMEOUT": "2s"]) { setup in
            setup.intune.set(.validate, .delay(.seconds(4)), times: 1)
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-slow")
            #expect(enrolled.status == .serviceUnavailable)
            #expect(try await Self.audit(setup, "tx-slow").outcome == .unavailable)
            #expect(setup.intune.successNotifications.isEmpty)
        }
    }

    @Test("Entra refusing the client secret: 503 and an audit reason naming the settings to check")
    func wrongSecretIsAConfigurationProblem() async throws {
        try await Self.with(extra: ["SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET": "not-the-secret"]) { setup in
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-wrong-secret")
            #expect(enrolled.status == .serviceUnavailable)
            let details = try await Self.audit(setup, "tx-wrong-secret").details
            #expect(details.contains("AADSTS7000215"), "\(details)")
            #expect(details.contains("INTUNE_CLIENT_ID"))
            #expect(!details.contains("not-the-secret"), "the secret is never recorded")
            #expect(setup.intune.calls(.validate).isEmpty)
        }
    }

    @Test(
        "Entra not knowing the tenant or the app (HTTP 400) is Scepter's configuration: 503 and the device may retry, never a rejection recorded as Intune's",
        arguments: [("SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID", "AADSTS90002"), ("SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID", "AADSTS700016")])
    func unknownTenantOrAppIsUnavailable(_ input: (variable: String, code: String)) async throws {
        try await Self.with(extra: [input.variable: "00000000-0000-0000-0000-00000000beef"]) { setup in
            // The device's retransmission: same challenge, same CSR, same transaction.
            let challenge = setup.intune.challenge()
            let device = try TestDevice(commonName: "LAPTOP-9", challenge: challenge, dnsNames: ["laptop-9.corp.example"])
            for _ in 0..<2 {
                let enrolled = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-unknown-registration", device: device)
                #expect(enrolled.status == .serviceUnavailable, "a retransmission is not answered from a recorded refusal")
            }
            let event = try await Self.audit(setup, "tx-unknown-registration")
            #expect(event.outcome == .unavailable)
            #expect(event.details.contains(input.code) && event.details.contains("INTUNE_TENANT_ID, INTUNE_CLIENT_ID"), "\(event.details)")
            #expect(setup.intune.calls(.validate).isEmpty)
        }
    }

    @Test("Entra unreachable (connection refused): 503 at once, the reason names the login URL; retries do not nest")
    func entraUnreachable() async throws {
        try await Self.with(extra: ["SCEPTER_PROFILE_CORP_INTUNE_LOGIN_URL": "http://127.0.0.1:1"]) { setup in
            let enrolled = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-no-entra")
            #expect(enrolled.status == .serviceUnavailable)
            let details = try await Self.audit(setup, "tx-no-entra").details
            #expect(details.contains("http://127.0.0.1:1"), "\(details)")
            #expect(setup.intune.calls.isEmpty)
        }
    }

    @Test("An expired token is renewed once (one more token request) and the call goes through")
    func expiredTokenIsRenewedOnce() async throws {
        try await Self.with { setup in
            try await Self.expectSuccess(setup)
            let tokensBefore = setup.intune.calls(.token).count
            setup.intune.expireTokens()
            try await Self.expectSuccess(setup)
            #expect(setup.intune.calls(.token).count == tokensBefore + 1)
            #expect(setup.intune.calls(.validate).filter { $0.status == 401 }.count == 1)
        }
    }

    @Test("A 403 (a token from before admin consent) is retried once with a fresh token")
    func forbiddenRenewsTheTokenOnce() async throws {
        try await Self.with { setup in
            try await Self.expectSuccess(setup)
            let tokensBefore = setup.intune.calls(.token).count
            setup.intune.set(.validate, .status(403), times: 1)
            try await Self.expectSuccess(setup)
            #expect(setup.intune.calls(.token).count == tokensBefore + 1)
            // Refused again with the fresh token: a configuration problem, 503, the permission named.
            setup.intune.set(.validate, .status(403), times: 2)
            let refused = try await Self.enroll(setup, challenge: setup.intune.challenge(), transactionID: "tx-forbidden")
            #expect(refused.status == .serviceUnavailable)
            #expect(try await Self.audit(setup, "tx-forbidden").details.contains("scep_challenge_provider"))
        }
    }

    @Test("Tokens and discovery are cached; services that moved are rediscovered after a 404")
    func cachingAndRediscovery() async throws {
        try await Self.with { setup in
            for _ in 0..<3 { try await Self.expectSuccess(setup) }
            #expect(setup.intune.calls(.token).count == 2, "one Graph token and one Intune token")
            #expect(setup.intune.calls(.discovery).count == 1)
            setup.intune.moveServices()
            try await Self.expectSuccess(setup)
            #expect(setup.intune.calls(.discovery).count == 2)
        }
    }

    @Test("A client certificate (signed JWT assertion) instead of a secret")
    func clientCertificateCredential() async throws {
        let key = TestPKI.rsa2048Key()
        let name = try DistinguishedName { CommonName("scepter-intune-app") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-3600), notValidAfter: Date().addingTimeInterval(86_400), issuer: name, subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(), issuerPrivateKey: Certificate.PrivateKey(key))
        let directory = try Shell.temporaryDirectory()
        let certificatePath = directory.appendingPathComponent("app.pem")
        let keyPath = directory.appendingPathComponent("app.key")
        try certificate.serializeAsPEM().pemString.write(to: certificatePath, atomically: true, encoding: .utf8)
        try key.pemRepresentation.write(to: keyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath.path)
        let extra = [
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET": "",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH": certificatePath.path,
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_KEY_PATH": keyPath.path,
        ]
        try await Self.with(extra: extra, clientCertificate: certificate) { setup in
            try await Self.expectSuccess(setup)
            #expect(setup.intune.tokenRequests.assertion == 2)
            #expect(setup.intune.tokenRequests.secret == 0)
        }
    }

    // MARK: Revocation

    @Test("Revocation requests: ours revoked and on the CRL GetCRL serves, a foreign serial reported not found, each audited")
    func revocationReachesTheCRL() async throws {
        // The harness does not run services: the test drives the poller's rounds itself.
        try await Self.with(extra: ["SCEPTER_INTUNE_REVOCATION_INTERVAL": "1h"]) { setup in
            let device = try TestDevice(commonName: "LAPTOP-9", challenge: setup.intune.challenge(), dnsNames: ["laptop-9.corp.example"])
            let reply = try #require(try await Self.enroll(setup, challenge: "", device: device).reply)
            let issued = try Certificate(derEncoded: try #require(reply.certificates.first))
            let serial = try #require(setup.intune.successNotifications.first?.serialNumber)
            let ours = setup.intune.queueRevocation(serialNumber: serial.uppercased())
            let foreign = setup.intune.queueRevocation(serialNumber: "0badc0ffee")

            let poller = try #require(setup.harness.server.services.compactMap { $0 as? IntuneRevocationPoller }.first)
            await poller.pollOnce()

            let results = Dictionary(uniqueKeysWithValues: setup.intune.revocationResults.map { ($0.requestContext, $0) })
            #expect(results[ours]?.succeeded == true)
            #expect(results[ours]?.errorCode == "None")
            #expect(results[foreign]?.succeeded == false)
            #expect(results[foreign]?.errorCode == "CertificateNotFoundError")

            // GetCRL through the SCEP surface lists the serial.
            let signer = try device.signer.keyPair()
            var coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: issued.issuer, serialNumber: issued.serialNumber))
            let getCRL = try SCEPClient.request(.getCRL, content: coder.serializedBytes, transactionID: "tx-crl", recipient: setup.harness.ra, signer: signer)
            let crl = try SCEPClient.readReply(try await setup.harness.test { try await $0.pkiOperation(getCRL, profile: "corp").1 }, requester: signer)
            let directory = try Shell.temporaryDirectory()
            try Shell.write(try #require(crl.crls.first), to: directory.appendingPathComponent("ca.crl"))
            let text = try await Shell.openssl("crl", "-inform", "DER", "-in", directory.appendingPathComponent("ca.crl").path, "-noout", "-text")
            #expect(text.stdout.lowercased().replacingOccurrences(of: ":", with: "").contains("serial number \(serial.lowercased())"), "\(text.stdout)")

            let events = try await setup.harness.server.store.auditEvents(AuditQuery(limit: 100)).filter { $0.operation == .intuneRevocation }
            #expect(events.count == 2)
            #expect(events.contains { $0.serialNumber == serial.lowercased() && $0.outcome == .success && $0.profile == "corp" })
            #expect(events.contains { $0.serialNumber == "0badc0ffee" && $0.outcome == .unknownTransaction })

            // Asked again (Intune re-sends what it did not hear back about): already revoked counts as success.
            let again = setup.intune.queueRevocation(serialNumber: serial)
            await poller.pollOnce()
            #expect(setup.intune.revocationResults.first { $0.requestContext == again }?.succeeded == true)
        }
    }
}
