import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import X509
import ScepterControl
import ScepterEdge
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting

/// Intune signed-challenge enrollments through the whole embedded path:
/// CertRep, audit record and metrics (SPEC §5.1, §6).
@Suite("Intune signed challenges in embedded mode", .timeLimit(.minutes(5)))
struct IntuneEnrollmentTests {
    static let audience = "https://scep.example.test/scep/corp"
    static let issuer = "https://connector.example.test/tenant-1"

    /// Connectors are RSA keys; made once per process (debug RSA keygen is slow).
    static let connectors = Result {
        let notBefore = Date().addingTimeInterval(-86_400)
        let notAfter = Date().addingTimeInterval(365 * 86_400)
        return (
            try TestConnector(.rsa, commonName: "Connector A", notBefore: notBefore, notAfter: notAfter),
            try TestConnector(.p256, commonName: "Connector B", notBefore: notBefore, notAfter: notAfter)
        )
    }

    struct Setup {
        let harness: EmbeddedHarness
        let anchorPath: URL
        let minter: ChallengeMinter
    }

    static func setup(extra: [String: String] = [:], anchors: [TestConnector]? = nil) async throws -> Setup {
        let (primary, _) = try connectors.get()
        let directory = try Shell.temporaryDirectory()
        let anchorPath = directory.appendingPathComponent("connectors.pem")
        try (anchors ?? [primary]).map { try $0.pem }.joined(separator: "\n").write(to: anchorPath, atomically: true, encoding: .utf8)
        var environment = [
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": anchorPath.path,
            "SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE": audience,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "static-too",
        ]
        // "{corp}": the same connector file as the corp profile.
        for (key, value) in extra { environment[key] = value == "{corp}" ? anchorPath.path : value }
        return Setup(harness: try await EmbeddedHarness.make(environment: environment), anchorPath: anchorPath, minter: ChallengeMinter(primary))
    }

    static func claims(device: String = UUID().uuidString, name: String = "LAPTOP-1", iat: TimeInterval = -60, exp: TimeInterval = 1800, extra: [String: Any] = [:]) -> [String: Any] {
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = [
            "iss": issuer, "sub": device, "aud": audience, "iat": (now + iat).rounded(), "exp": (now + exp).rounded(),
            "nonce": UUID().uuidString, "device_name": name, "san_dns": ["\(name.lowercased()).corp.example"],
        ]
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    /// Enrolls with `challenge` on /scep/corp; returns the reply.
    static func enroll(
        _ setup: Setup, challenge: String, name: String = "LAPTOP-1", transactionID: String = UUID().uuidString, device: TestDevice? = nil,
        profile: String = "corp"
    ) async throws -> SCEPClient.Reply {
        let device = try device ?? TestDevice(commonName: name, challenge: challenge, dnsNames: ["\(name.lowercased()).corp.example"])
        let message = try device.pkcsReq(ra: setup.harness.ra, transactionID: transactionID)
        let (status, body) = try await setup.harness.test { try await $0.pkiOperation(message, profile: profile) }
        #expect(status == .ok)
        return try SCEPClient.readReply(body, requester: try device.signer.keyPair())
    }

    @Test("A valid challenge cannot carry another identity: a SID URI SAN is refused, nothing issued")
    func sidURICannotRideAlong() async throws {
        let setup = try await Self.setup()
        let challenge = try setup.minter.mint(claims: Self.claims(device: "device-sid"))
        let device = try TestDevice(
            commonName: "LAPTOP-1", challenge: challenge, dnsNames: ["laptop-1.corp.example"],
            uris: ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-500"])
        let reply = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-sid", device: device)
        #expect(reply.status == .failure)
        #expect(reply.failInfo == .badRequest)
        let event = try #require(try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-sid")).first)
        #expect(event.outcome == .claimMismatch)
        #expect(event.details.contains("which no claim binds"), "\(event.details)")
        #expect(try await setup.harness.server.store.certificates(CertificateQuery()).certificates.isEmpty)
    }

    @Test func validChallengeIssuesAndTheAuditRecordCarriesTheClaim() async throws {
        let setup = try await Self.setup()
        let claims = Self.claims(device: "device-guid-1")
        let reply = try await Self.enroll(setup, challenge: try setup.minter.mint(claims: claims), transactionID: "tx-intune-ok")
        #expect(reply.status == .success)
        let event = try #require(try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-intune-ok")).first)
        #expect(event.outcome == .success)
        #expect(event.profile == "corp")
        #expect(event.claimSubject == "device-guid-1")
        #expect(event.claimIssuer == Self.issuer)
        #expect(event.deviceName == "LAPTOP-1")
        #expect(event.csrSANs == "DNS:laptop-1.corp.example")
    }

    @Test func staticPasswordStillWorksOnTheIntuneProfile() async throws {
        let setup = try await Self.setup()
        #expect(try await Self.enroll(setup, challenge: "static-too").status == .success)
        #expect(try await Self.enroll(setup, challenge: "static-wrong").failInfo == .badRequest)
    }

    static let failures: [(String, Outcome, FailInfo)] = [
        ("expired", .expired, .badTime),
        ("not yet valid", .notYetValid, .badTime),
        ("over the validity cap", .expired, .badTime),
        ("wrong audience", .wrongAudience, .badRequest),
        ("missing audience", .wrongAudience, .badRequest),
        ("claim mismatch", .claimMismatch, .badRequest),
        ("unknown version", .unknownVersion, .badRequest),
        ("alg none", .signatureInvalid, .badMessageCheck),
        ("signed by an unknown connector", .signatureInvalid, .badMessageCheck),
        ("garbage JWS", .malformed, .badRequest),
    ]

    @Test(arguments: failures)
    func everyRefusalArrivesAsItsFailInfoAndLabel(name: String, outcome: Outcome, failInfo: FailInfo) async throws {
        let setup = try await Self.setup()
        let minter = setup.minter
        let challenge: String
        switch name {
        case "expired": challenge = try minter.mint(claims: Self.claims(iat: -4000, exp: -200))
        case "not yet valid": challenge = try minter.mint(claims: Self.claims(iat: 600, exp: 1800))
        case "over the validity cap": challenge = try minter.mint(claims: Self.claims(iat: -60, exp: 7200))
        case "wrong audience": challenge = try minter.mint(claims: Self.claims(extra: ["aud": "https://elsewhere.example/scep"]))
        case "missing audience":
            var claims = Self.claims()
            claims.removeValue(forKey: "aud")
            challenge = try minter.mint(claims: claims)
        case "claim mismatch": challenge = try minter.mint(claims: Self.claims(name: "SOMEONE-ELSE"))
        case "unknown version": challenge = try minter.mint(claims: Self.claims(extra: ["version": "v9"]))
        case "alg none":
            let unsigned = try minter.mint(header: ["alg": "none"], claims: Self.claims())
            challenge = String(unsigned.prefix(upTo: unsigned.lastIndex(of: ".")!)) + "."  + String(repeating: "A", count: 8)
        case "signed by an unknown connector":
            let rogue = try TestConnector(.p256, commonName: "Rogue", notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400))
            challenge = try ChallengeMinter(rogue).mint(claims: Self.claims())
        default: challenge = String(repeating: "x", count: 120) + "." + String(repeating: "y", count: 60) + "." + "!!!!" + String(repeating: "z", count: 30)
        }
        let reply = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-\(name)")
        #expect(reply.status == .failure)
        #expect(reply.failInfo == failInfo)
        let event = try #require(try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-\(name)")).first)
        #expect(event.outcome == outcome, "\(event.details)")
        #expect(!event.details.isEmpty)
        #expect(!event.details.contains(challenge))
    }

    @Test func sameChallengeTwiceIsReplayButTheSameTransactionAgainGetsItsAnswer() async throws {
        let setup = try await Self.setup()
        let challenge = try setup.minter.mint(claims: Self.claims())
        let device = try TestDevice(commonName: "LAPTOP-1", challenge: challenge, dnsNames: ["laptop-1.corp.example"])
        let first = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-first", device: device)
        let again = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-first", device: device)
        let other = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-second")
        #expect(first.status == .success)
        #expect(again.status == .success)
        #expect(again.certificates.first == first.certificates.first)
        #expect(other.status == .failure)
        #expect(other.failInfo == .badRequest)
        #expect(try await setup.harness.server.store.auditEvents(AuditQuery(outcome: .replay)).count == 1)
    }

    @Test("A challenge is single-use per request: the same transactionID with a new CSR, or the same request on another profile, is a replay")
    func challengeBindsProfileAndCSR() async throws {
        let setup = try await Self.setup(extra: [
            "SCEPTER_PROFILES": "corp,wifi",
            "SCEPTER_PROFILE_WIFI_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_WIFI_INTUNE_CONNECTOR_CERT_PATH": "{corp}",
            "SCEPTER_PROFILE_WIFI_INTUNE_AUDIENCE": Self.audience,
        ])
        let challenge = try setup.minter.mint(claims: Self.claims())
        let key = try TestPKI.makeLeaf(commonName: "LAPTOP-1")
        let device = try TestDevice(commonName: "LAPTOP-1", challenge: challenge, dnsNames: ["laptop-1.corp.example"], signer: key)
        let first = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-bound", device: device)
        #expect(first.status == .success)

        // The same key pair and names, a new CSR (it asks for clientAuth), the same transactionID: a second use of the challenge.
        let regenerated = try TestDevice(
            commonName: "LAPTOP-1", challenge: challenge, dnsNames: ["laptop-1.corp.example"], ekus: [.clientAuth], signer: key)
        #expect(regenerated.csr != device.csr)
        let again = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-bound", device: regenerated)
        #expect(again.status == .failure)
        // The very same request on another profile trusting the same connector.
        let elsewhere = try await Self.enroll(setup, challenge: challenge, transactionID: "tx-bound", device: device, profile: "wifi")
        #expect(elsewhere.status == .failure)
        #expect(elsewhere.failInfo == .badRequest)
        let replays = try await setup.harness.server.store.auditEvents(AuditQuery(outcome: .replay))
        let events = try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-bound"))
        #expect(replays.count == 2, "\(events.map { "\($0.profile) \($0.outcome): \($0.details)" })")
        #expect(Set(replays.map(\.profile)) == ["corp", "wifi"])
        #expect(try await setup.harness.server.store.certificates(CertificateQuery()).certificates.count == 1)
    }

    @Test func fourthEnrollmentOfADeviceIn24HoursIsRateLimited() async throws {
        let setup = try await Self.setup()
        var statuses: [PKIStatus] = []
        for _ in 0..<4 {
            statuses.append(try await Self.enroll(setup, challenge: try setup.minter.mint(claims: Self.claims(device: "busy-device"))).status)
        }
        #expect(statuses == [.success, .success, .success, .failure])
        #expect(try await setup.harness.server.store.auditEvents(AuditQuery(outcome: .rateLimited)).count == 1)
        // Another device is not affected.
        #expect(try await Self.enroll(setup, challenge: try setup.minter.mint(claims: Self.claims(device: "quiet-device"))).status == .success)
    }

    @Test func reloadSwapsAnchorsAndABadFileKeepsTheOldPool() async throws {
        let (primary, secondary) = try Self.connectors.get()
        let setup = try await Self.setup()
        let reloader = setup.harness.server.reloader

        // A garbage file: the old pool stays.
        try "not a certificate".write(to: setup.anchorPath, atomically: true, encoding: .utf8)
        let bad = try #require(reloader.reloadAll()["corp"])
        #expect(!bad.succeeded)
        #expect(bad.error != nil)
        #expect(try await Self.enroll(setup, challenge: try ChallengeMinter(primary).mint(claims: Self.claims())).status == .success)

        // The new Connector only: old challenges fail their signature, new ones pass.
        try secondary.pem.write(to: setup.anchorPath, atomically: true, encoding: .utf8)
        let good = try #require(reloader.reloadAll()["corp"])
        #expect(good.succeeded)
        #expect(good.fingerprints.count == 1)
        #expect(try await Self.enroll(setup, challenge: try ChallengeMinter(primary).mint(claims: Self.claims())).failInfo == .badMessageCheck)
        #expect(try await Self.enroll(setup, challenge: try ChallengeMinter(secondary).mint(claims: Self.claims())).status == .success)

        // Only the anchor in use is published.
        let metrics = String(decoding: setup.harness.server.metrics.render(), as: UTF8.self)
        let published = metrics.split(separator: "\n").filter { $0.hasPrefix("scepter_trust_anchor_not_after_seconds{") }
        #expect(published.count == 1)
        #expect(published.first?.contains(good.fingerprints[0]) == true)
    }

    @Test func haBundleAcceptsEitherConnector() async throws {
        let (primary, secondary) = try Self.connectors.get()
        let setup = try await Self.setup(anchors: [primary, secondary])
        #expect(try await Self.enroll(setup, challenge: try ChallengeMinter(primary).mint(claims: Self.claims())).status == .success)
        #expect(try await Self.enroll(setup, challenge: try ChallengeMinter(secondary).mint(claims: Self.claims(), ecdsaForm: .der)).status == .success)
    }

    @Test func metricsCountIntuneOutcomesByProfile() async throws {
        let setup = try await Self.setup()
        _ = try await Self.enroll(setup, challenge: try setup.minter.mint(claims: Self.claims()))
        _ = try await Self.enroll(setup, challenge: try setup.minter.mint(claims: Self.claims(iat: -4000, exp: -200)))
        try await setup.harness.test { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"scepter_enrollments_total{profile="corp",outcome="success"} 1"#))
                #expect(text.contains(#"scepter_enrollments_total{profile="corp",outcome="expired"} 1"#))
                #expect(text.contains(#"scepter_trust_anchor_not_after_seconds{profile="corp",fingerprint=""#))
                #expect(text.contains(#"scepter_trust_anchor_last_reload_success{profile="corp"} 1"#))
            }
        }
    }
}
