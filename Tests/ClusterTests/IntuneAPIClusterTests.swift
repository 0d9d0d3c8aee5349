import Foundation
import IntuneStandIn
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting

/// `intune-api` through real `scepter control` and `scepter edge` processes,
/// with Redis, PostgreSQL and the Entra/Graph/Intune stand-in (SPEC §5.2).
@Suite("Cluster: Intune online validation and revocation", .serialized, .timeLimit(.minutes(4)))
struct IntuneAPIClusterTests {
    /// The cluster's profile switched to intune-api (the signed-challenge settings cleared).
    static func environment(_ intune: IntuneStandIn) -> [String: String] {
        intune.environment().merging([
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": "",
            "SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE": "",
            "SCEPTER_INTUNE_REVOCATION_INTERVAL": "1s",
            // Validation, issuance and notification on a busy machine can pass the default 5 s; PENDING is tested elsewhere.
            "SCEPTER_EDGE_WAIT_BUDGET": "30s",
        ]) { $1 }
    }

    static func withCluster(_ body: (TestCluster, IntuneStandIn) async throws -> Void) async throws {
        let intune = try await IntuneStandIn.start()
        do {
            try await ClusterTests.withCluster(environment: environment(intune)) { cluster in try await body(cluster, intune) }
            #expect(intune.violations.isEmpty, "contract violations: \(intune.violations)")
        } catch {
            await intune.stop()
            throw error
        }
        await intune.stop()
    }

    static func micromdm(_ cluster: TestCluster, edge: Int, challenge: String, certificate: String? = nil) async throws -> InteropClient.Report? {
        var arguments = ["-url", cluster.scepURL(edge: edge), "-challenge", challenge, "-cn", "LAPTOP-\(edge)", "-strict", "-cipher", "aes256"]
        if let certificate { arguments += ["-cert-out", certificate] }
        let run = try await Shell.run(InteropClient.binary, arguments)
        return try? JSONDecoder().decode(InteropClient.Report.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
    }

    @Test("A device enrolls through either edge only when Intune says Success; Intune hears of each certificate once")
    func enrollsOnlyOnSuccess() async throws {
        try await InteropClient.ensureBuilt()
        try await Self.withCluster { cluster, intune in
            let directory = try Shell.temporaryDirectory()
            let caPath = directory.appendingPathComponent("ca.pem").path
            try cluster.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)

            let accepted = intune.challenge()
            let certificate = directory.appendingPathComponent("laptop.pem").path
            let issued = try await Self.micromdm(cluster, edge: 0, challenge: accepted, certificate: certificate)
            #expect(issued?.pkiStatus == "SUCCESS")
            let verify = try await Shell.run("/usr/bin/openssl", ["verify", "-CAfile", caPath, certificate])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

            let expired = try await Self.micromdm(cluster, edge: 1, challenge: intune.challenge(answering: "ChallengeExpired"))
            #expect(expired?.pkiStatus == "FAILURE")
            #expect(expired?.failInfo == "badTime")
            // The accepted challenge again, by another transaction at the other edge: a replay, not a second call.
            let replayed = try await Self.micromdm(cluster, edge: 1, challenge: accepted)
            #expect(replayed?.failInfo == "badRequest")
            let down = intune.challenge()
            intune.set(.validate, .status(503, retryAfter: 3), times: 1)
            let unavailable = try await Self.micromdm(cluster, edge: 0, challenge: down)
            #expect(unavailable?.httpStatus == 503)

            #expect(intune.calls(.validate).count == 3)
            #expect(intune.successNotifications.count == 1)
            #expect(try await cluster.waitForAudit(4) == 4)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 1)
            let validateID = try #require(intune.calls(.validate).first?.clientRequestID)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'success' AND NOT provisional AND details LIKE '%\(validateID)%'") == 1)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'expired' AND details LIKE '%ChallengeExpired%client-request-id%'") == 1)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'replay'") == 1)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'unavailable' AND details LIKE '%503%'") == 1)
            #expect(try await cluster.count("SELECT count(*) FROM enrollments WHERE status = 'issued' AND reason LIKE '%successNotification acknowledged%'") == 1)

            let metrics = try await cluster.http(cluster.controlURL("/metrics")).text
            #expect(metrics.contains(#"scepter_intune_api_requests_total{call="validateRequest",code="200"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"scepter_intune_api_requests_total{call="successNotification",code="200"} 1"#))
            let stats = try await cluster.http(cluster.controlURL("/api/v1/admin/scep/intune/stats"), token: TestCluster.adminToken)
            let services = (ClusterTests.profile(stats)?["intuneAPI"] as? [String: Any])?["services"] as? [[String: Any]]
            #expect(services?.first?["breaker"] as? String == "closed")
            #expect(services?.first?["lastSuccess"] as? String != nil)
        }
    }

    @Test("The same PKIMessage at both edges at once: one validateRequest, one certificate, one notification")
    func retransmissionAcrossEdgesCallsIntuneOnce() async throws {
        try await Self.withCluster { cluster, intune in
            let device = try TestCluster.device(name: "LAPTOP-R", challenge: intune.challenge())
            let message = try device.pkcsReq(ra: cluster.ra, transactionID: "tx-both-edges")
            async let first = cluster.pkiOperation(message, edge: 0)
            async let second = cluster.pkiOperation(message, edge: 1)
            let answers = try await [first, second]
            let replies = try answers.map { try TestCluster.reply($0, device: device) }
            #expect(replies.map(\.status) == [.success, .success])
            #expect(replies[0].certificates.first == replies[1].certificates.first)
            #expect(intune.calls(.validate).count == 1)
            #expect(intune.successNotifications.count == 1)
        }
    }

    @Test("Wipes in Intune with two control replicas: each request processed once, the certificates on the CRL GetCRL serves")
    func revocationOnceAcrossReplicas() async throws {
        try await Self.withCluster { cluster, intune in
            _ = try await cluster.startReplica(id: "control-b")
            var devices: [TestDevice] = []
            for index in 0..<3 {
                let device = try TestCluster.device(name: "WIPED-\(index)", challenge: intune.challenge())
                let answer = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: index % 2)
                #expect(try TestCluster.reply(answer, device: device).status == .success)
                devices.append(device)
            }
            let serials = intune.successNotifications.compactMap(\.serialNumber)
            #expect(serials.count == 3)
            var contexts = serials.map { intune.queueRevocation(serialNumber: $0) }
            contexts.append(intune.queueRevocation(serialNumber: "0badc0ffee"))

            let reported = await cluster.eventually(timeout: .seconds(30)) { intune.revocationResults.count >= contexts.count }
            #expect(reported)
            let results = intune.revocationResults
            #expect(results.count == contexts.count, "each request reported exactly once")
            #expect(Set(results.map(\.requestContext)) == Set(contexts))
            #expect(results.filter(\.succeeded).count == 3)
            #expect(results.first { !$0.succeeded }?.errorCode == "CertificateNotFoundError")
            #expect(intune.overlappingDownloads == 0)
            #expect(try await cluster.count("SELECT count(*) FROM revocations WHERE actor = 'intune'") == 3)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE operation = 'intune-revocation'") == 4)

            // GetCRL through an edge: the wiped serials are on the CRL.
            let signer = try devices[0].signer.keyPair()
            let ca = try Certificate(pemEncoded: cluster.caPEM)
            var coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: ca.subject, serialNumber: Certificate.SerialNumber(bytes: [0x01])))
            let getCRL = try SCEPClient.request(.getCRL, content: coder.serializedBytes, transactionID: "tx-crl", recipient: cluster.ra, signer: signer)
            let crl = try SCEPClient.readReply(try await cluster.pkiOperation(getCRL, edge: 1).body, requester: signer)
            let directory = try Shell.temporaryDirectory()
            let crlPath = directory.appendingPathComponent("ca.crl")
            try Shell.write(try #require(crl.crls.first), to: crlPath)
            let text = try await Shell.run("/usr/bin/openssl", ["crl", "-inform", "DER", "-in", crlPath.path, "-noout", "-text"]).stdout
            let listed = text.lowercased().replacingOccurrences(of: ":", with: "")
            for serial in serials { #expect(listed.contains("serial number \(serial.lowercased())"), "\(serial) not in\n\(text)") }
        }
    }
}
