import Foundation
import NIOHTTP1
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting

/// The admin plane across control-plane replicas: a revocation through one
/// replica is what the other's OCSP responder and CRL say (SPEC §8).
/// Each test carries its own limit: a suite's limit would cap the
/// schemathesis run too (the shorter limit wins), and under a loaded CI
/// machine that run, beside the other schemathesis suite, took over 3 minutes.
@Suite("Cluster: revocation seen by every replica", .serialized)
struct AdminPlaneClusterTests {
    @Test("Revoked through replica A: replica B's OCSP answers revoked (it said good before), its CRL lists it", .timeLimit(.minutes(3)))
    func revokeOnAOCSPOnB() async throws {
        try await ClusterTests.withCluster(edges: 2) { cluster in
            let replicaB = try await cluster.startReplica(id: "control-b")
            let device = try TestCluster.device(name: "STOLEN-1", challenge: TestCluster.staticPassword)
            let reply = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 1), device: device)
            let der = try #require(reply.certificates.first)
            // Found through the API, as an admin would find it.
            let found = try await cluster.http(cluster.controlURL("/api/v1/certificates?q=stolen-1"), token: TestCluster.viewerToken)
            let items = (try? JSONSerialization.jsonObject(with: Data(found.body)) as? [String: Any])?["items"] as? [[String: Any]]
            let serial = try #require(items?.first?["serial"] as? String)
            #expect(serial == (try Certificate(derEncoded: der).serialNumber.hexString))

            let directory = try Shell.temporaryDirectory()
            let caPath = directory.appendingPathComponent("ca.pem").path
            let certificatePath = directory.appendingPathComponent("stolen.pem").path
            try cluster.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
            try PEM.encode(der, label: "CERTIFICATE").write(toFile: certificatePath, atomically: true, encoding: .utf8)
            let requestPath = directory.appendingPathComponent("req.der").path
            _ = try await Shell.run("/usr/bin/openssl", ["ocsp", "-issuer", caPath, "-cert", certificatePath, "-no_nonce", "-reqout", requestPath])
            let request = Array(try Data(contentsOf: URL(fileURLWithPath: requestPath)))

            func ocspOnB() async throws -> String {
                let answer = try await cluster.http(replicaB + "/ocsp/main", method: .POST, body: request)
                let responsePath = directory.appendingPathComponent("resp.der").path
                try Data(answer.body).write(to: URL(fileURLWithPath: responsePath))
                let read = try await Shell.run(
                    "/usr/bin/openssl", ["ocsp", "-respin", responsePath, "-issuer", caPath, "-cert", certificatePath, "-CAfile", caPath, "-no_nonce", "-resp_text"])
                #expect(read.stderr.contains("Response verify OK"), "\(read.stderr)")
                return read.stdout
            }
            #expect(try await ocspOnB().contains("stolen.pem: good"))

            let revoked = try await cluster.http(
                cluster.controlURL("/api/v1/certificates/\(serial)/revoke"), method: .POST, body: Array(#"{"reason":"keyCompromise"}"#.utf8),
                token: TestCluster.adminToken)
            #expect(revoked.status == 200, "\(revoked.text)")

            let afterwards = try await ocspOnB()
            #expect(afterwards.contains("stolen.pem: revoked"), "\(afterwards)")
            #expect(afterwards.contains("Reason: keyCompromise"))

            let crl = try await cluster.http(replicaB + "/crl/main.crl")
            #expect(crl.status == 200)
            let crlPath = directory.appendingPathComponent("main.crl").path
            try Data(crl.body).write(to: URL(fileURLWithPath: crlPath))
            let listing = try await Shell.run("/usr/bin/openssl", ["crl", "-inform", "DER", "-in", crlPath, "-CAfile", caPath, "-noout", "-text"])
            #expect(listing.stdout.lowercased().replacingOccurrences(of: ":", with: "").contains("serial number \(serial)"), "\(listing.stdout)\(listing.stderr)")

            // The audit row names the admin token's holder.
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE operation = 'revoke' AND serial = '\(serial)'") == 1)
        }
    }

    @Test("The control plane's admin API conforms to its OpenAPI document (schemathesis, admin and viewer)", .timeLimit(.minutes(10)))
    func schemathesisAgainstTheControlPlane() async throws {
        try await ClusterTests.withCluster(edges: 2) { cluster in
            for edge in 0..<2 {
                let device = try TestCluster.device(name: "OPENAPI-\(edge)", challenge: TestCluster.staticPassword)
                _ = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: edge)
            }
            var environment = ProcessInfo.processInfo.environment
            environment["SCEPTER_URL"] = cluster.controlURL("")
            environment["SCEPTER_ADMIN_TOKEN"] = TestCluster.adminToken
            environment["SCEPTER_VIEWER_TOKEN"] = TestCluster.viewerToken
            let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/OpenAPI/check.sh").path
            let result = try await Shell.run("/bin/bash", [script], environment: environment)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        }
    }
}
