import Foundation
import Testing
import ScepterTesting

/// The three other clients nobody here wrote (micromdm's, strongSwan's
/// `pki --scep`, certmonger) against a profile whose RA is split in two, as
/// an NDES migration brings it: GetCACert then carries the CA, the signing
/// and the encryption certificate, and each client must encrypt to the one
/// with keyEncipherment and verify the CertRep with the other.
/// PyScepClientTests covers PyScep, which needs this layout.
@Suite("Interop: an RA split into signing and encryption certificates", .serialized, .timeLimit(.minutes(5)))
final class SplitRAClientTests {
    let work: URL
    let split: SplitRAServer

    init() async throws {
        work = try Shell.temporaryDirectory()
        split = try await SplitRAServer.start(in: work)
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func verify(_ file: String) async throws {
        let verify = try await Shell.openssl("verify", "-CAfile", split.caCertificatePath, path(file))
        #expect(verify.status == 0, "\(file): \(verify.stdout)\(verify.stderr)")
    }

    func auditedOutcome(transaction: String?) async throws -> String? {
        try await split.audit().first { $0["transactionID"] as? String == transaction }?["outcome"] as? String
    }

    @Test("micromdm's client encrypts to the encryption certificate and verifies the CertRep's signature")
    func micromdm() async throws {
        try await InteropClient.ensureBuilt()
        let run = try await InteropClient.run([
            "-url", split.url, "-challenge", split.challenge, "-cn", "mm-split", "-key-out", path("mm.key"), "-cert-out", path("mm.pem"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.report?.pkiStatus == "SUCCESS" && run.report?.signatureOK == true, "\(String(describing: run.report))")
        try await verify("mm.pem")
        #expect(try await auditedOutcome(transaction: run.report?.transactionID) == "success")
    }

    @Test("Beside a signing certificate that has keyEncipherment too, micromdm's client encrypts to that one, and it is decrypted")
    func micromdmWithASigningCertificateThatEncrypts() async throws {
        try await InteropClient.ensureBuilt()
        // The client's choice, as it reports it: the development RA (signing, with keyEncipherment too), listed first.
        let choice = try await Shell.run(InteropClient.binary, ["-url", split.server.scepURL + "/mixed", "-op", "getcacert"])
        #expect(choice.stdout.contains("\"recipient\":\"CN=Scepter Development RA,O=Scepter\""), "\(choice.stdout)\(choice.stderr)")
        let run = try await InteropClient.run([
            "-url", split.server.scepURL + "/mixed", "-challenge", split.challenge, "-cn", "mm-mixed", "-cert-out", path("mixed.pem"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.report?.pkiStatus == "SUCCESS" && run.report?.signatureOK == true, "\(String(describing: run.report))")
        // The profile takes the only configured issuer, the split RA's CA.
        let verify = try await Shell.openssl("verify", "-CAfile", split.caCertificatePath, path("mixed.pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("strongSwan's pki writes both RA certificates, encrypts to the one with keyEncipherment, and enrolls")
    func strongSwan() async throws {
        let pki = "/usr/bin/pki"
        let fetched = try await Shell.run(
            pki, ["--scepca", "--url", split.url, "--caout", path("ca.pem"), "--raout", path("ra.pem"), "--outform", "pem", "--force"],
            timeout: .seconds(60))
        try #require(fetched.status == 0, "\(fetched.stderr)")
        // The second RA certificate goes to ra-2.pem; which is which, strongSwan decides.
        var encryption = "", signing = ""
        for file in ["ra.pem", "ra-2.pem"] {
            let usage = try await Shell.openssl("x509", "-in", path(file), "-noout", "-ext", "keyUsage")
            if usage.stdout.contains("Key Encipherment") { encryption = path(file) } else { signing = path(file) }
        }
        try #require(!encryption.isEmpty && !signing.isEmpty, "strongSwan did not write one RA certificate of each kind")
        let key = try await Shell.run(pki, ["--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"])
        try key.stdout.write(toFile: path("sw.key"), atomically: true, encoding: .utf8)
        let run = try await Shell.run(
            pki,
            [
                "--scep", "--url", split.url, "--in", path("sw.key"), "--dn", "CN=sw-split", "--password", split.challenge,
                "--cacert-enc", encryption, "--cacert-sig", signing, "--cacert", path("ca.pem"), "--outform", "pem",
            ], timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr.suffix(3000))")
        try run.stdout.write(toFile: path("sw.pem"), atomically: true, encoding: .utf8)
        try await verify("sw.pem")
    }

    @Test("certmonger enrolls and renews through a split RA")
    func certmonger() async throws {
        try Certmonger.requireInstalled()
        let run = try await Certmonger.run(
            Certmonger.addCA(split.url) + Certmonger.request("cm-split", challenge: split.challenge, in: work) + """
                cp \(path("cm-split.pem")) \(path("cm-first.pem"))
                getcert resubmit -s -i cm-split -w --wait-timeout 60
                echo "== resubmit: $?"
                \(Certmonger.awaitNewCertificate(path("cm-split.pem"), unlike: path("cm-first.pem")))\
                getcert list -s -i cm-split

                """, in: work)
        let log = "\(run.output)\n\(run.log.suffix(4000))"
        #expect(run.output.components(separatedBy: "status: MONITORING").count == 3, "\(log)")
        try await verify("cm-first.pem")
        try await verify("cm-split.pem")
        let serials = [
            try await Shell.openssl("x509", "-in", path("cm-first.pem"), "-noout", "-serial").stdout,
            try await Shell.openssl("x509", "-in", path("cm-split.pem"), "-noout", "-serial").stdout,
        ]
        #expect(serials[0] != serials[1], "the renewal is a new certificate: \(serials)")
        try await split.server.stop()
    }
}
