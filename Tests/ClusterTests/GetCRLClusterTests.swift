import Foundation
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import Testing
import X509

/// GetCRL through an edge to the control plane after the rollover docs/ca.md
/// describes (issuer `main` retired, profile `corp` on `main-2026`), and the
/// internal route as an edge older than its `issuer` parameter calls it.
@Suite("Cluster: GetCRL answers the named CA's CRL", .serialized, .timeLimit(.minutes(5)))
struct GetCRLClusterTests {
    /// A GetCRL naming `issuer`, through edge 0.
    static func getCRL(_ issuer: DistinguishedName, transactionID: String, in cluster: TestCluster) async throws -> SCEPClient.Reply {
        let signer = try TestDevice(commonName: "crl-reader", challenge: nil).signer.keyPair()
        var coder = DER.Serializer()
        try coder.serialize(IssuerAndSerial(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: [0x01])))
        let request = try SCEPClient.request(.getCRL, content: coder.serializedBytes, transactionID: transactionID, recipient: cluster.ra, signer: signer)
        let answer = try await cluster.pkiOperation(request, edge: 0)
        #expect(answer.status == 200, "\(answer.text)")
        return try SCEPClient.readReply(answer.body, requester: signer)
    }

    /// openssl verifies `crl` under the CA in `caPEM`; returns `-issuer`'s line.
    static func verifiedIssuer(_ crl: [UInt8], caPEM: String) async throws -> String {
        let directory = try Shell.temporaryDirectory()
        try Shell.write(crl, to: directory.appendingPathComponent("ca.crl"))
        try caPEM.write(to: directory.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        let verified = try await Shell.openssl(
            "crl", "-inform", "DER", "-in", directory.appendingPathComponent("ca.crl").path, "-CAfile",
            directory.appendingPathComponent("ca.pem").path, "-noout", "-issuer")
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stderr.contains("verify OK"), "\(verified.stderr)")
        return verified.stdout
    }

    /// The audit row of `transactionID` (outcome, fail_info, details), once the control plane has stored it.
    static func auditRow(_ transactionID: String, in cluster: TestCluster) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let rows = try await cluster.sql(
                "SELECT outcome, fail_info, details FROM audit_events WHERE NOT provisional AND transaction_id = '\(transactionID)'")
            if let row = rows.first { return row }
            try await Task.sleep(for: .milliseconds(200))
        }
        return []
    }

    @Test("After a rollover: the retired CA's name gets its CRL, the current CA's its own, an unknown CA badCertId; the route without the parameter answers the profile's CRL")
    func rollover() async throws {
        let directory = try Shell.temporaryDirectory()
        let next = directory.appendingPathComponent("next")
        let made = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", next.path, "--ca-name", "Scepter Root CA 2026", "--ecdsa"])
        try #require(made.status == 0, "\(made.stderr)")
        let nextPEM = try String(contentsOf: next.appendingPathComponent("ca.pem"), encoding: .utf8)
        let environment = [
            "SCEPTER_ISSUERS": "main,main-2026",
            "SCEPTER_ISSUER_MAIN_2026_CA_CERT_PATH": next.appendingPathComponent("ca.pem").path,
            "SCEPTER_ISSUER_MAIN_2026_CA_KEY_PATH": next.appendingPathComponent("ca.key").path,
            "SCEPTER_PROFILE_CORP_ISSUER": "main-2026",
        ]
        try await ClusterTests.withCluster(edges: 1, environment: environment) { cluster in
            let old = try Certificate(pemEncoded: cluster.caPEM)
            let current = try Certificate(pemEncoded: nextPEM)

            // The retired CA: its CRL, signed by it (the old code answered main-2026's).
            let retired = try await Self.getCRL(old.subject, transactionID: "tx-crl-main", in: cluster)
            #expect(retired.status == .success)
            let retiredCRL = try #require(retired.crls.first)
            #expect(try await Self.verifiedIssuer(retiredCRL, caPEM: cluster.caPEM).contains("CN = Scepter Root CA\n"))
            let published = try await cluster.http(cluster.controlURL("/crl/main.crl"))
            #expect(published.status == 200)
            #expect(published.body == retiredCRL, "GetCRL and /crl/main.crl serve the same bytes")

            let own = try await Self.getCRL(current.subject, transactionID: "tx-crl-main-2026", in: cluster)
            #expect(own.status == .success)
            let ownCRL = try #require(own.crls.first)
            #expect(try await Self.verifiedIssuer(ownCRL, caPEM: nextPEM).contains("CN = Scepter Root CA 2026"))

            let stranger = try DistinguishedName { CommonName("Somebody Else's CA") }
            let refused = try await Self.getCRL(stranger, transactionID: "tx-crl-stranger", in: cluster)
            #expect(refused.status == .failure)
            #expect(refused.failInfo == .badCertID)
            let row = try await Self.auditRow("tx-crl-stranger", in: cluster)
            #expect(row.prefix(2) == ["unknown_transaction", "badCertId"], "\(row)")
            #expect(row.last?.contains("a CA profile corp does not answer for (SCEPTER_ISSUERS, the profile's ISSUER)") == true, "\(row)")
            #expect(try await Self.auditRow("tx-crl-main", in: cluster).first == "success")

            // A name over the internal API's 4096 bytes is refused at the edge the same way, quoted only in part.
            let huge = try DistinguishedName { CommonName(String(repeating: "h", count: 5000)) }
            let hugeReply = try await Self.getCRL(huge, transactionID: "tx-crl-huge", in: cluster)
            #expect(hugeReply.failInfo == .badCertID)
            let hugeRow = try await Self.auditRow("tx-crl-huge", in: cluster)
            #expect(hugeRow.first == "unknown_transaction", "\(hugeRow.prefix(2))")
            #expect((hugeRow.last?.count ?? .max) < 400, "\(hugeRow.last?.count ?? 0) characters of details")

            // The internal route as an edge that predates the parameter calls it: the profile's current CRL.
            let path = "/internal/v1/profiles/corp/crl"
            let unnamed = try await cluster.http(cluster.controlURL(path), token: TestCluster.edgeToken)
            #expect(unnamed.status == 200)
            #expect(try await Self.verifiedIssuer(unnamed.body, caPEM: nextPEM).contains("CN = Scepter Root CA 2026"))

            // A malformed or oversized parameter: 400 naming the problem, and the control plane goes on.
            for (parameter, problem) in [("%FF%FE", "not base64url"), ("AAAA", "not the DER of an IssuerAndSerialNumber"), (String(repeating: "A", count: 8192), "over 4096 bytes")] {
                let answer = try await cluster.http(cluster.controlURL(path + "?issuerAndSerial=" + parameter), token: TestCluster.edgeToken)
                #expect(answer.status == 400, "\(parameter.prefix(10)): \(answer.status) \(answer.text)")
                #expect(answer.text.contains(problem), "\(answer.text)")
            }
            #expect(try await cluster.http(cluster.controlURL(path), token: TestCluster.edgeToken).status == 200)
        }
    }
}
