import Crypto
import Foundation
import IntuneStandIn
import Testing
import ScepterTesting

/// A real `scepter dev` process with an `intune-api` profile, micromdm's
/// client carrying Intune's opaque challenges, and the Entra/Graph/Intune
/// stand-in in this test process (SPEC §5.2).
@Suite("Interop: Intune online validation through scepter dev", .serialized, .timeLimit(.minutes(3)))
struct IntuneAPIInteropTests {
    struct Running {
        let intune: IntuneStandIn
        let server: DevServerProcess
        let work: URL

        var url: String { "http://127.0.0.1:\(server.port)/scep/corp" }

        func enroll(_ challenge: String, certOut: String? = nil) async throws -> InteropClient.Run {
            var arguments = ["-url", url, "-challenge", challenge, "-cn", "LAPTOP-42", "-dns", "laptop-42.corp.example", "-strict"]
            if let certOut { arguments += ["-cert-out", work.appendingPathComponent(certOut).path] }
            return try await InteropClient.run(arguments)
        }

        func sql(_ query: String) async throws -> String {
            let database = server.dataDirectory.appendingPathComponent("scepter.db").path
            return try await Shell.run("/usr/bin/sqlite3", [database, query]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func withServer(_ body: (Running) async throws -> Void) async throws {
        try await InteropClient.ensureBuilt()
        let intune = try await IntuneStandIn.start()
        do {
            let server = try await DevServerProcess.start(
                environment: intune.environment().merging(["SCEPTER_PROFILES": "corp", "SCEPTER_INTUNE_REVOCATION_INTERVAL": "1s"]) { $1 })
            defer { server.terminate() }
            try await body(Running(intune: intune, server: server, work: try Shell.temporaryDirectory()))
            #expect(intune.violations.isEmpty, "contract violations: \(intune.violations)")
        } catch {
            await intune.stop()
            throw error
        }
        await intune.stop()
    }

    @Test("Success: the certificate verifies with openssl, Intune heard of it once, with its thumbprint and serial")
    func successVerifiesAndIsNotified() async throws {
        try await withServer { running in
            let run = try await running.enroll(running.intune.challenge(), certOut: "laptop.pem")
            #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
            let certificatePath = running.work.appendingPathComponent("laptop.pem").path
            let verify = try await Shell.openssl("verify", "-CAfile", running.server.caCertificatePath, certificatePath)
            #expect(verify.status == 0, "\(verify.stderr)")

            #expect(running.intune.calls(.validate).count == 1)
            let notification = try #require(running.intune.successNotifications.first)
            #expect(running.intune.successNotifications.count == 1)
            let fingerprint = try await Shell.openssl("x509", "-in", certificatePath, "-noout", "-fingerprint", "-sha1").stdout
            #expect(fingerprint.replacingOccurrences(of: ":", with: "").uppercased().contains(notification.thumbprint?.uppercased() ?? "-"))
            let serial = try await Shell.openssl("x509", "-in", certificatePath, "-noout", "-serial").stdout
            #expect(serial.lowercased().contains(notification.serialNumber?.lowercased() ?? "-"))

            let requestID = try #require(running.intune.calls(.validate).first?.clientRequestID)
            #expect(try await running.sql("SELECT count(*) FROM audit_events WHERE outcome = 'success' AND details LIKE '%\(requestID)%'") == "1")
        }
    }

    @Test("Refusals reach micromdm's client as their failInfo; Intune down is HTTP 503")
    func refusalsAndOutage() async throws {
        try await withServer { running in
            let expired = try await running.enroll(running.intune.challenge(answering: "ChallengeExpired"))
            #expect(expired.report?.pkiStatus == "FAILURE")
            #expect(expired.report?.failInfo == "badTime")
            let mismatch = try await running.enroll(running.intune.challenge(answering: "SubjectAltNameMismatch"))
            #expect(mismatch.report?.failInfo == "badRequest")
            #expect(try await running.sql("SELECT outcome FROM audit_events WHERE details LIKE '%SubjectAltNameMismatch%'") == "claim_mismatch")

            running.intune.set(.validate, .status(503))
            let down = try await running.enroll(running.intune.challenge())
            #expect(down.report?.httpStatus == 503, "\(down.stderr)")
            #expect(running.intune.successNotifications.isEmpty)
            #expect(try await running.sql("SELECT count(*) FROM certificates") == "0")
        }
    }

    @Test("A wipe in Intune: the poller revokes the certificate and reports it; a foreign serial is reported not found")
    func wipeRevokes() async throws {
        try await withServer { running in
            #expect(try await running.enroll(running.intune.challenge()).report?.pkiStatus == "SUCCESS")
            let serial = try #require(running.intune.successNotifications.first?.serialNumber)
            let ours = running.intune.queueRevocation(serialNumber: serial)
            let foreign = running.intune.queueRevocation(serialNumber: "00ff00ff")
            // The poller runs every second: wait (bounded) for both results.
            let deadline = ContinuousClock.now + .seconds(20)
            while running.intune.revocationResults.count < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            let results = Dictionary(uniqueKeysWithValues: running.intune.revocationResults.map { ($0.requestContext, $0) })
            #expect(results[ours]?.succeeded == true)
            #expect(results[foreign]?.errorCode == "CertificateNotFoundError")
            #expect(try await running.sql("SELECT status FROM certificates WHERE serial = '\(serial.lowercased())'") == "revoked")
            #expect(try await running.sql("SELECT reason || '|' || actor FROM revocations WHERE serial = '\(serial.lowercased())'") == "privilegeWithdrawn|intune")
            #expect(running.intune.overlappingDownloads == 0)
        }
    }
}
