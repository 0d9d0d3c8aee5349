import Foundation
import Testing
import ScepterTesting

/// micromdm's own `scepclient` command (Debian's `scep` package, 2.1.0), as
/// operators run it, not the test client Tests/Interop builds on micromdm's
/// library: enrollment through one RA certificate and through a split RA,
/// its `-ca-fingerprint` pin, and a wrong challenge.
@Suite("Interop: micromdm's scepclient command against scepter dev", .serialized, .timeLimit(.minutes(5)))
final class MicromdmCLITests {
    static let binary = "/usr/bin/scepclient"
    let work: URL
    let split: SplitRAServer

    init() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "\(Self.binary) is missing (Debian: apt-get install -y scep)")
        work = try Shell.temporaryDirectory()
        split = try await SplitRAServer.start(in: work)
    }

    /// Runs scepclient in a directory of its own (it writes its CSR and self-signed certificate beside the key).
    func scepclient(_ name: String, url: String, challenge: String, extra: [String] = []) async throws -> (Shell.Result, String) {
        let directory = work.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let run = try await Shell.run(
            Self.binary,
            ["-server-url", url, "-challenge", challenge, "-cn", name, "-private-key", directory.appendingPathComponent("key.pem").path,
             "-certificate", certificate] + extra, timeout: .seconds(60))
        return (run, certificate)
    }

    func fingerprint(_ pem: String) async throws -> String {
        let der = try await Shell.openssl("x509", "-in", pem, "-noout", "-fingerprint", "-sha256").stdout
        return der.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines) }?
            .lowercased() ?? ""
    }

    func verify(_ certificate: String, ca: String) async throws {
        let verify = try await Shell.openssl("verify", "-CAfile", ca, certificate)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("Enrolls through one RA certificate and through a split RA; the CA verifies both certificates")
    func enrolls() async throws {
        let (single, singleCertificate) = try await scepclient("mm-cli-single", url: split.server.scepURL, challenge: split.server.challenge)
        #expect(single.status == 0 && single.stderr.contains("pkiStatus=SUCCESS"), "\(single.stderr)")
        try await verify(singleCertificate, ca: split.server.caCertificatePath)
        let (splitRun, splitCertificate) = try await scepclient("mm-cli-split", url: split.url, challenge: split.challenge)
        #expect(splitRun.status == 0 && splitRun.stderr.contains("pkiStatus=SUCCESS"), "\(splitRun.stderr)")
        try await verify(splitCertificate, ca: split.caCertificatePath)
    }

    @Test("-ca-fingerprint: the RA certificate's enrolls; the CA's makes it encrypt to the CA, refused naming the CA's serial")
    func fingerprintPin() async throws {
        let ra = split.server.dataDirectory.appendingPathComponent("ra.pem").path
        let (pinned, certificate) = try await scepclient(
            "mm-cli-pinned", url: split.server.scepURL, challenge: split.server.challenge, extra: ["-ca-fingerprint", try await fingerprint(ra)])
        #expect(pinned.status == 0 && pinned.stderr.contains("pkiStatus=SUCCESS"), "\(pinned.stderr)")
        try await verify(certificate, ca: split.server.caCertificatePath)

        let (toTheCA, _) = try await scepclient(
            "mm-cli-ca-pinned", url: split.server.scepURL, challenge: split.server.challenge,
            extra: ["-ca-fingerprint", try await fingerprint(split.server.caCertificatePath)])
        // The FAILURE is signed by the RA, which scepclient no longer trusts once it pinned the CA.
        #expect(toTheCA.status != 0, "\(toTheCA.stderr)")
        let caSerial = try await Shell.openssl("x509", "-in", split.server.caCertificatePath, "-noout", "-serial").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        let refusal = try await split.audit().first { ($0["details"] as? String)?.contains("but to serial \(caSerial)") == true }
        #expect(refusal?["outcome"] as? String == "bad_message_check", "\(String(describing: refusal))")
        #expect((refusal?["details"] as? String)?.contains("point the client at the RA certificate") == true, "\(String(describing: refusal))")
    }

    @Test("A wrong challenge is refused badRequest, as scepclient reports it")
    func wrongChallenge() async throws {
        let (run, certificate) = try await scepclient("mm-cli-wrong", url: split.url, challenge: "not-the-challenge")
        #expect(run.status != 0)
        #expect(run.stdout.contains("failInfo: badRequest (2)"), "\(run.stdout)\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: certificate))
        try await split.server.stop()
    }
}
