import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` process with an Intune profile, enrolled by
/// micromdm's client carrying challenges minted like a Connector's.
@Suite("Interop: Intune signed challenges through scepter dev", .serialized, .timeLimit(.minutes(10)))
final class IntuneInteropTests {
    static let audience = "https://scep.example.test/scep/corp"
    let server: DevServerProcess
    let work: URL
    let anchorPath: URL
    let connector: TestConnector
    let standby: TestConnector

    init() async throws {
        try await InteropClient.ensureBuilt()
        work = try Shell.temporaryDirectory()
        let notBefore = Date().addingTimeInterval(-86_400)
        let notAfter = Date().addingTimeInterval(365 * 86_400)
        connector = try TestConnector(.rsa, commonName: "Connector A", notBefore: notBefore, notAfter: notAfter)
        standby = try TestConnector(.p256, commonName: "Connector B", notBefore: notBefore, notAfter: notAfter)
        anchorPath = work.appendingPathComponent("connectors.pem")
        try connector.pem.write(to: anchorPath, atomically: true, encoding: .utf8)
        server = try await DevServerProcess.start(environment: [
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": anchorPath.path,
            "SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE": Self.audience,
        ])
    }

    deinit { server.terminate() }

    var url: String { "http://127.0.0.1:\(server.port)/scep/corp" }

    func challenge(by connector: TestConnector? = nil, device: String = UUID().uuidString, name: String = "LAPTOP-7", iat: TimeInterval = -60, exp: TimeInterval = 1800, audience: String = audience) throws -> String {
        let now = Date().timeIntervalSince1970
        let claims: [String: Any] = [
            "iss": "https://connector.example.test/tenant-1", "sub": device, "aud": audience,
            "iat": (now + iat).rounded(), "exp": (now + exp).rounded(), "nonce": UUID().uuidString,
            "device_name": name, "san_dns": ["\(name.lowercased()).corp.example"],
        ]
        return try ChallengeMinter(connector ?? self.connector).mint(claims: claims)
    }

    func enroll(_ challenge: String, name: String = "LAPTOP-7", certOut: String? = nil) async throws -> InteropClient.Run {
        var arguments = ["-url", url, "-challenge", challenge, "-cn", name, "-dns", "\(name.lowercased()).corp.example", "-strict"]
        if let certOut { arguments += ["-cert-out", work.appendingPathComponent(certOut).path] }
        return try await InteropClient.run(arguments)
    }

    func audit(_ sql: String) async throws -> String {
        let database = server.dataDirectory.appendingPathComponent("scepter.db").path
        return try await Shell.run("/usr/bin/sqlite3", [database, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func mintedChallengeEnrollsAndChainsToTheCA() async throws {
        let run = try await enroll(try challenge(device: "interop-device-1"), certOut: "laptop.pem")
        #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
        let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, work.appendingPathComponent("laptop.pem").path)
        #expect(verify.status == 0)
        #expect(try await audit("SELECT outcome, claim_sub, device_name FROM audit_events WHERE claim_sub = 'interop-device-1'") == "success|interop-device-1|LAPTOP-7")
    }

    @Test func refusalsArriveAsTheirFailInfo() async throws {
        let rogue = try TestConnector(
            .rsa, commonName: "Rogue", notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400), keyUnlike: [connector])
        let cases: [(String, String, String)] = [
            (try challenge(iat: -4000, exp: -300), "badTime", "expired"),
            (try challenge(iat: 900, exp: 2000), "badTime", "not_yet_valid"),
            (try challenge(audience: "https://other.example/scep"), "badRequest", "wrong_audience"),
            (try challenge(name: "OTHER-NAME"), "badRequest", "claim_mismatch"),
            (try challenge(by: rogue), "badMessageCheck", "signature_invalid"),
        ]
        for (minted, failInfo, label) in cases {
            let before = await Int(try audit("SELECT count(*) FROM audit_events WHERE outcome = '\(label)'")) ?? -1
            let run = try await enroll(minted)
            #expect(run.report?.pkiStatus == "FAILURE", "\(label): \(run.stderr)")
            #expect(run.report?.failInfo == failInfo, "\(label)")
            #expect(Int(try await audit("SELECT count(*) FROM audit_events WHERE outcome = '\(label)'")) == before + 1, "\(label)")
        }
    }

    @Test func sameChallengeTwiceIsAReplay() async throws {
        let minted = try challenge()
        #expect(try await enroll(minted).report?.pkiStatus == "SUCCESS")
        let second = try await enroll(minted)
        #expect(second.report?.pkiStatus == "FAILURE")
        #expect(second.report?.failInfo == "badRequest")
        #expect(try await audit("SELECT count(*) FROM audit_events WHERE outcome = 'replay'") == "1")
    }

    @Test func fourthEnrollmentOfADeviceIsRateLimited() async throws {
        var statuses: [String?] = []
        for _ in 0..<4 { await statuses.append(try enroll(try challenge(device: "rate-device")).report?.pkiStatus) }
        #expect(statuses == ["SUCCESS", "SUCCESS", "SUCCESS", "FAILURE"])
        #expect(try await audit("SELECT count(*) FROM audit_events WHERE outcome = 'rate_limited' AND claim_sub = 'rate-device'") == "1")
    }

    /// Sends SIGHUP and waits (bounded) until `check` holds.
    func hangUp(until check: () async throws -> Bool) async throws -> Bool {
        kill(server.process.processIdentifier, SIGHUP)
        for _ in 0..<50 {
            if try await check() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func sighupReloadsAnchorsAndKeepsThemOnAGarbageFile() async throws {
        // A garbage bundle: the old Connector keeps working.
        try "garbage".write(to: anchorPath, atomically: true, encoding: .utf8)
        kill(server.process.processIdentifier, SIGHUP)
        let kept = try await enroll(try challenge())
        #expect(kept.report?.pkiStatus == "SUCCESS", "server running: \(server.process.isRunning); client: \(kept.stderr)")

        // The standby Connector replaces it: its challenges pass, the old ones no longer verify.
        try standby.pem.write(to: anchorPath, atomically: true, encoding: .utf8)
        let reloaded = try await hangUp { try await enroll(try challenge(by: standby)).report?.pkiStatus == "SUCCESS" }
        #expect(reloaded, "server running: \(server.process.isRunning)")
        let old = try await enroll(try challenge(by: connector))
        #expect(old.report?.pkiStatus == "FAILURE", "client: \(old.stderr)")
        #expect(old.report?.failInfo == "badMessageCheck")
    }
}
