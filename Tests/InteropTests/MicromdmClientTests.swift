import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` process enrolled by micromdm's SCEP client (Debian's
/// golang-github-micromdm-scep-dev), checked with `openssl verify`.
@Suite("Interop: micromdm SCEP client against scepter dev", .serialized, .timeLimit(.minutes(10)))
final class MicromdmClientTests {
    let server: DevServerProcess
    let work: URL

    init() async throws {
        try await InteropClient.ensureBuilt()
        server = try await DevServerProcess.start()
        work = try Shell.temporaryDirectory()
    }

    deinit { server.terminate() }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    static let matrix: [(cipher: String, digest: String, method: String)] = ["des", "aes128", "aes256"].flatMap { cipher in
        ["sha1", "sha256", "sha512"].flatMap { digest in ["get", "post"].map { (cipher, digest, $0) } }
    }

    @Test(arguments: matrix)
    func enrolls(cipher: String, digest: String, method: String) async throws {
        let name = "\(cipher)-\(digest)-\(method)"
        let run = try await InteropClient.run([
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "interop-\(name)", "-dns", "\(name).example.com",
            "-cipher", cipher, "-digest", digest, "-method", method, "-strict",
            "-key-out", path("\(name).key"), "-cert-out", path("\(name).pem"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.report?.pkiStatus == "SUCCESS")
        #expect(run.report?.signatureOK == true)
        #expect(run.report?.recipientNonceOK == true)
        #expect(run.report?.subject == "CN=interop-\(name)")
        let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, path("\(name).pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let text = try await Shell.openssl("x509", "-in", path("\(name).pem"), "-noout", "-ext", "subjectAltName")
        #expect(text.stdout.contains("DNS:\(name).example.com"))
    }

    @Test func wrongPasswordIsFailureBadRequest() async throws {
        let run = try await InteropClient.run(["-url", server.scepURL, "-challenge", "not-the-challenge", "-strict"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.report?.pkiStatus == "FAILURE")
        #expect(run.report?.failInfo == "badRequest")
        #expect(run.report?.signatureOK == true)
    }

    @Test func missingPasswordIsFailureBadRequest() async throws {
        let run = try await InteropClient.run(["-url", server.scepURL, "-strict"])
        #expect(run.report?.pkiStatus == "FAILURE")
        #expect(run.report?.failInfo == "badRequest")
    }

    @Test func renewsWithTheIssuedCertificate() async throws {
        let first = try await InteropClient.run([
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "renewing-device", "-strict",
            "-key-out", path("first.key"), "-cert-out", path("first.pem"),
        ])
        #expect(first.report?.pkiStatus == "SUCCESS", "\(first.stderr)")
        let renewed = try await InteropClient.run([
            "-url", server.scepURL, "-cn", "renewing-device", "-strict", "-renew-cert", path("first.pem"), "-renew-key",
            path("first.key"), "-key-out", path("renewed.key"), "-cert-out", path("renewed.pem"),
        ])
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(renewed.report?.pkiStatus == "SUCCESS")
        #expect(renewed.report?.serial != first.report?.serial)
        let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, path("renewed.pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test func renewalSignedByAForeignCertificateIsRefused() async throws {
        // A certificate from a CA this server does not know.
        let foreign = try TestPKI.makeCA(commonName: "Foreign CA")
        let leaf = try TestPKI.makeLeaf(commonName: "intruder", issuer: foreign)
        try leaf.certificatePEM.write(toFile: path("foreign.pem"), atomically: true, encoding: .utf8)
        try leaf.keyPEM.write(toFile: path("foreign.key"), atomically: true, encoding: .utf8)
        let run = try await InteropClient.run([
            "-url", server.scepURL, "-cn", "intruder", "-strict", "-renew-cert", path("foreign.pem"), "-renew-key", path("foreign.key"),
        ])
        #expect(run.report?.pkiStatus == "FAILURE", "\(run.stderr)")
        #expect(run.report?.failInfo == "badMessageCheck")
    }

    @Test func capabilitiesAndCACertificates() async throws {
        let caps = try await Shell.run(InteropClient.binary, ["-url", server.scepURL, "-op", "caps"])
        for keyword in ["POSTPKIOperation", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "AES", "DES3", "SCEPStandard", "Renewal"] {
            #expect(caps.stdout.contains(keyword))
        }
        let certs = try await Shell.run(InteropClient.binary, ["-url", server.scepURL, "-op", "getcacert", "-ca-out", path("ca-ra.pem")])
        #expect(certs.status == 0, "\(certs.stderr)")
        let printed = try await Shell.openssl("crl2pkcs7", "-nocrl", "-certfile", path("ca-ra.pem"))
        #expect(printed.status == 0)
        let ca = try String(contentsOfFile: server.caCertificatePath, encoding: .utf8)
        let bundle = try String(contentsOfFile: path("ca-ra.pem"), encoding: .utf8)
        #expect(bundle.hasPrefix(ca.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func retransmittedTransactionGetsTheSameCertificate() async throws {
        let arguments = [
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "retry-device", "-strict", "-txid", "retry-\(UUID().uuidString)",
        ]
        let keyArguments = ["-key-out", path("retry.key")]
        let first = try await InteropClient.run(arguments + keyArguments)
        let second = try await InteropClient.run(arguments + ["-key-in", path("retry.key")])
        #expect(first.report?.pkiStatus == "SUCCESS", "\(first.stderr)")
        #expect(second.report?.pkiStatus == "SUCCESS", "\(second.stderr)")
        #expect(first.report?.serial == second.report?.serial)
    }

    /// RFC 8894's recommended transactionID is derived from the public key
    /// (this client does it, as strongSwan and certmonger do): a host that
    /// keeps its key pair sends every later enrollment under the same one.
    @Test func sameKeyEnrollsAgainUnderItsKeyDerivedTransactionID() async throws {
        let first = try await InteropClient.run([
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "keeps-its-key", "-strict", "-key-out", path("kept.key"),
        ])
        let again = try await InteropClient.run([
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "keeps-its-key", "-dns", "keeps-its-key.example.com",
            "-strict", "-key-in", path("kept.key"),
        ])
        let retransmitted = try await InteropClient.run([
            "-url", server.scepURL, "-challenge", server.challenge, "-cn", "keeps-its-key", "-dns", "keeps-its-key.example.com",
            "-strict", "-key-in", path("kept.key"),
        ])
        #expect(first.report?.pkiStatus == "SUCCESS", "\(first.stderr)")
        #expect(again.report?.pkiStatus == "SUCCESS", "\(again.stderr)")
        #expect(first.report?.transactionID != nil)
        #expect(first.report?.transactionID == again.report?.transactionID, "the client derives one transactionID from the key")
        #expect(again.report?.serial != first.report?.serial, "a new CSR is a new certificate")
        #expect(retransmitted.report?.serial == again.report?.serial, "the same CSR again is a retransmission")
    }
}
