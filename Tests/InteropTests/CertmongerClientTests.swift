import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` process enrolled by certmonger (Debian's certmonger:
/// the daemon, `getcert` and its `scep-submit` helper), what Red Hat family
/// hosts and many Linux fleets use to enroll against NDES and keep their
/// certificates renewed. certmonger builds its messages with OpenSSL's PKCS7
/// API and checks every CertRep with `PKCS7_verify`, so it is the client that
/// notices a CertRep OpenSSL's older API does not take.
///
/// `scepter dev` never answers PENDING; certmonger polling a PENDING is in
/// ClusterTests.
@Suite("Interop: certmonger against scepter dev", .serialized, .timeLimit(.minutes(5)))
final class CertmongerClientTests {
    let server: DevServerProcess
    let work: URL

    init() async throws {
        try Certmonger.requireInstalled()
        server = try await DevServerProcess.start()
        work = try Shell.temporaryDirectory()
    }


    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func certmonger(_ commands: String) async throws -> (output: String, log: String) {
        try await Certmonger.run(commands, in: work)
    }

    var addCA: String { Certmonger.addCA(server.scepURL) }

    func request(_ name: String, challenge: String) -> String { Certmonger.request(name, challenge: challenge, in: work) }

    func x509(_ file: String, _ fields: String...) async throws -> String {
        let x509 = try await Shell.run("/usr/bin/openssl", ["x509", "-in", path(file), "-noout"] + fields)
        try #require(x509.status == 0, "\(file): \(x509.stderr)")
        return x509.stdout
    }

    /// The dev server's audit records of PKIOperations for CN=`name`, newest first.
    func audit(_ name: String) async throws -> [[String: Any]] {
        let (status, body) = try await server.request(
            "/api/v1/audit?operation=PKIOperation&limit=100", headers: ["Authorization": "Bearer \(try server.adminToken)"])
        try #require(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let items = try #require(page["items"] as? [[String: Any]])
        return items.filter { $0["csrSubject"] as? String == "CN=\(name).example.com" }
    }

    @Test("Enrolls, renews with the key it has and with a new key, each a certificate the CA verifies")
    func enrollsRenewsAndRekeys() async throws {
        let run = try await certmonger(
            addCA + request("cm-host", challenge: server.challenge) + """
                cp \(path("cm-host.pem")) \(path("first.pem"))
                getcert resubmit -s -i cm-host -w --wait-timeout 60
                echo "== resubmit: $?"
                \(Certmonger.awaitNewCertificate(path("cm-host.pem"), unlike: path("first.pem")))\
                cp \(path("cm-host.pem")) \(path("renewed.pem"))
                getcert rekey -s -i cm-host -w --wait-timeout 60
                echo "== rekey: $?"
                \(Certmonger.awaitNewCertificate(path("cm-host.pem"), unlike: path("renewed.pem")))\
                getcert list -s -i cm-host

                """)
        let audited = try await audit("cm-host")
        let log = "\(audited)\n\(run.output)\n\(run.log.suffix(4000))"
        #expect(run.output.components(separatedBy: "status: MONITORING").count == 3, "\(log)")
        // certmonger picks the strongest algorithms GetCACaps offers.
        #expect(run.log.contains("Server supports AES, using AES256.") && run.log.contains("Server supports SHA-256, using that."), "\(log)")

        for file in ["first.pem", "renewed.pem", "cm-host.pem"] {
            let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, path(file))
            #expect(verify.status == 0, "\(file): \(verify.stdout)\(verify.stderr)")
            let text = try await x509(file, "-subject", "-ext", "subjectAltName")
            #expect(text.contains("CN = cm-host.example.com") && text.contains("DNS:cm-host.example.com"), "\(file): \(text)")
        }
        let serials = [try await x509("first.pem", "-serial"), try await x509("renewed.pem", "-serial"), try await x509("cm-host.pem", "-serial")]
        #expect(Set(serials).count == 3, "\(serials)")
        let keys = [try await x509("first.pem", "-pubkey"), try await x509("renewed.pem", "-pubkey"), try await x509("cm-host.pem", "-pubkey")]
        #expect(keys[0] == keys[1] && keys[1] != keys[2], "resubmit keeps the key, rekey makes a new one")

        #expect(audited.count == 3 && audited.allSatisfy { $0["outcome"] as? String == "success" }, "\(audited)")
        let auditedSerials = Set(audited.compactMap { ($0["serialNumber"] as? String)?.lowercased() })
        let issuedSerials = Set(serials.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased() })
        #expect(auditedSerials == issuedSerials, "audited \(auditedSerials), issued \(issuedSerials)")
        try await server.stop()
    }

    @Test("A wrong challenge is the CA's rejection to certmonger, not an unreachable CA, and is audited")
    func wrongChallenge() async throws {
        let run = try await certmonger(addCA + request("cm-wrong", challenge: "not-the-challenge"))
        let log = "\(run.output)\n\(run.log.suffix(4000))"
        // A FAILURE CertRep certmonger cannot verify would leave it at CA_UNREACHABLE, retrying for ever.
        #expect(run.output.contains("status: CA_REJECTED"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: path("cm-wrong.pem")))
        let audited = try await audit("cm-wrong")
        #expect(!audited.isEmpty && audited.allSatisfy { $0["outcome"] as? String == "challenge_invalid" }, "\(audited)")
        try await server.stop()
    }

    @Test("After the challenge changed, its renewal (a PKCSReq signed with its certificate, the old challenge inside) still renews")
    func renewsAfterTheChallengeChanged() async throws {
        let first = try await certmonger(addCA + request("cm-rotate", challenge: server.challenge))
        #expect(first.output.contains("status: MONITORING"), "\(first.output)\n\(first.log.suffix(4000))")
        let firstSerial = try await x509("cm-rotate.pem", "-serial")

        // The operator changes the challenge: the same data directory, restarted with a new one.
        try await server.stop()
        let challengeFile = server.dataDirectory.appendingPathComponent("challenge").path
        try FileManager.default.removeItem(atPath: challengeFile)
        #expect(FileManager.default.createFile(atPath: challengeFile, contents: Data("a-new-challenge\n".utf8), attributes: [.posixPermissions: 0o600]))
        let restarted = try await DevServerProcess.start(dataDirectory: server.dataDirectory)
        #expect(restarted.challenge == "a-new-challenge")

        let renewal = try await certmonger(
            Certmonger.addCA(restarted.scepURL, name: "Restarted") + """
                getcert resubmit -s -i cm-rotate -c Restarted -w --wait-timeout 60
                echo "== resubmit: $?"
                getcert list -s -i cm-rotate

                """)
        #expect(renewal.output.contains("status: MONITORING"), "\(renewal.output)\n\(renewal.log.suffix(4000))")
        #expect(try await x509("cm-rotate.pem", "-serial") != firstSerial)
        let verify = try await Shell.openssl("verify", "-CAfile", restarted.caCertificatePath, path("cm-rotate.pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let (status, body) = try await restarted.request(
            "/api/v1/audit?operation=PKIOperation&limit=10", headers: ["Authorization": "Bearer \(try restarted.adminToken)"])
        try #require(status == 200)
        let items = try #require((try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["items"] as? [[String: Any]])
        let renewed = try #require(items.first, "\(items)")
        #expect(renewed["outcome"] as? String == "success" && renewed["messageType"] as? String == "PKCSReq", "\(renewed)")
        #expect((renewed["details"] as? String)?.hasPrefix("PKCSReq taken as a renewal by its signer certificate") == true, "\(renewed)")
        try await restarted.stop()
    }
}
