import Foundation
import Testing
import ScepterTesting

/// PyScep (PyPI's PyScep 0.0.14, a Python SCEP client written for testing
/// against EJBCA and NDES) against a real `scepter dev`. PyScep encrypts only
/// to a certificate with keyEncipherment and without digitalSignature, else
/// to the CA: it enrolls with a profile whose RA is split in two, as NDES's
/// is, and is refused, with a reason that says why, by a profile with one
/// RA certificate for both. Its venv comes from PyPI on the first run.
@Suite("Interop: PyScep against scepter dev", .serialized, .timeLimit(.minutes(5)))
final class PyScepClientTests {
    let work: URL
    let split: SplitRAServer
    let python: String

    init() async throws {
        work = try Shell.temporaryDirectory()
        python = try await PyScep.python()
        split = try await SplitRAServer.start(in: work)
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    func pyscep(_ arguments: String...) async throws -> PyScep.Report {
        let run = try await PyScep.run(python: python, arguments)
        try #require(run.status == 0, "pyscep_client.py \(arguments.first ?? ""): \(run.stderr.suffix(3000))")
        return try #require(run.report, "pyscep_client.py \(arguments.first ?? "") printed no report: \(run.stderr.suffix(3000))")
    }

    /// Enrolls CN=`cn` (default `name`); the certificate and key go to `name`.pem and `name`.key.
    func enroll(_ name: String, cn: String? = nil, challenge: String, signer: String? = nil) async throws -> PyScep.Report {
        var arguments = ["enroll", split.url, challenge, cn ?? name, path("\(name).pem"), path("\(name).key")]
        if let signer { arguments += [path("\(signer).pem"), path("\(signer).key")] }
        let run = try await PyScep.run(python: python, arguments)
        try #require(run.status == 0, "enroll \(name): \(run.stderr.suffix(3000))")
        return try #require(run.report)
    }

    func verify(_ name: String) async throws {
        let verify = try await Shell.openssl("verify", "-CAfile", split.caCertificatePath, path("\(name).pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("Chooses the split RA's encryption certificate, enrolls (the CA verifies the certificate), and fetches it, the CRL and the poll answer")
    func enrollsWithASplitRA() async throws {
        let caps = try await pyscep("caps", split.url)
        #expect(Set(caps.capabilities ?? []).isSuperset(of: ["POSTPKIOperation", "AES", "SHA-256", "Renewal"]), "\(caps)")
        #expect(caps.caCertificates == 3)
        #expect(caps.recipient?.contains("\(SplitRAServer.raName) (encryption)") == true, "\(caps)")
        #expect(caps.signer?.contains("Common Name: \(SplitRAServer.raName),") == true, "\(caps)")

        let enrolled = try await enroll("py-laptop", challenge: split.challenge)
        #expect(enrolled.pkiStatus == "SUCCESS", "\(enrolled)")
        try await verify("py-laptop")
        let subject = try await Shell.openssl("x509", "-in", path("py-laptop.pem"), "-noout", "-subject")
        #expect(subject.stdout.contains("CN = py-laptop"), "\(subject.stdout)")
        let serial = try #require(enrolled.serial)

        let fetched = try await pyscep("getcert", split.url, path("py-laptop.pem"), path("py-laptop.key"), serial, path("fetched.pem"))
        #expect(fetched.pkiStatus == "SUCCESS")
        #expect(try String(contentsOfFile: path("fetched.pem"), encoding: .utf8) == (try String(contentsOfFile: path("py-laptop.pem"), encoding: .utf8)))

        let crl = try await pyscep("getcrl", split.url, path("py-laptop.pem"), path("py-laptop.key"), serial, path("crl.der"))
        #expect(crl.pkiStatus == "SUCCESS")
        let checked = try await Shell.openssl("crl", "-inform", "DER", "-in", path("crl.der"), "-CAfile", split.caCertificatePath, "-noout")
        #expect(checked.status == 0 && checked.stderr.contains("verify OK"), "\(checked.stdout)\(checked.stderr)")

        let polled = try await pyscep("poll", split.url, path("py-laptop.pem"), path("py-laptop.key"), "py-laptop", try #require(enrolled.transactionID))
        #expect(polled.pkiStatus == "SUCCESS", "\(polled)")
    }

    @Test("A wrong challenge is refused badRequest; a PKCSReq signed by the issued certificate, with no challenge, renews it")
    func refusesAWrongChallengeAndRenews() async throws {
        let wrong = try await enroll("py-intruder", challenge: "not-the-challenge")
        #expect(wrong.pkiStatus == "FAILURE")
        #expect(wrong.failInfo == 2, "badRequest: \(wrong)")

        let first = try await enroll("py-desktop", challenge: split.challenge)
        #expect(first.pkiStatus == "SUCCESS")
        let renewed = try await enroll("py-desktop-renewed", cn: "py-desktop", challenge: "", signer: "py-desktop")
        #expect(renewed.pkiStatus == "SUCCESS", "\(renewed)")
        #expect(renewed.serial != nil && renewed.serial != first.serial)
        try await verify("py-desktop-renewed")
        let audit = try await split.audit()
        let renewal = audit.first { $0["transactionID"] as? String == renewed.transactionID }
        #expect(renewal?["outcome"] as? String == "success", "\(String(describing: renewal))")
        #expect((renewal?["details"] as? String)?.contains("PKCSReq taken as a renewal") == true, "\(String(describing: renewal))")
    }

    @Test("With one RA certificate for both, PyScep encrypts to the CA and is refused badMessageCheck, with a reason naming both certificates")
    func refusedByASingleRA() async throws {
        let run = try await PyScep.run(
            python: python, ["enroll", split.server.scepURL, split.server.challenge, "py-single", path("py-single.pem"), path("py-single.key")])
        try #require(run.status == 0, "\(run.stderr.suffix(3000))")
        let report = try #require(run.report)
        #expect(report.recipient?.contains("Scepter Development CA") == true, "\(report)")
        #expect(report.pkiStatus == "FAILURE")
        #expect(report.failInfo == 1, "badMessageCheck: \(report)")
        let audit = try await split.audit()
        let refusal = try #require(audit.first { $0["transactionID"] as? String == report.transactionID })
        #expect(refusal["outcome"] as? String == "bad_message_check")
        let details = refusal["details"] as? String ?? ""
        #expect(details.contains("not encrypted to this profile's RA certificate"), "\(details)")
        #expect(details.contains("RA_ENCRYPTION_CERT_PATH"), "\(details)")
        // The certificate PyScep chose, by its serial: the CA's.
        let caSerial = try await Shell.openssl("x509", "-in", split.server.caCertificatePath, "-noout", "-serial").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        #expect(details.contains("but to serial \(caSerial) issued by CN=Scepter Development CA"), "\(details)")
    }
}
