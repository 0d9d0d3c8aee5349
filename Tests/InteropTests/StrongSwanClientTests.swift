import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` process enrolled by strongSwan's `pki --scep`
/// (Debian's strongswan-pki, with the curl and openssl plugins): what
/// strongSwan VPN gateways and many Linux hosts use. Its transactionID is the
/// SHA-1 of the public key, it signs CSRs with PKCS#1 v1.5 or RSASSA-PSS and
/// any SHA digest, and it only picks AES when the capabilities it parses allow it.
@Suite("Interop: strongSwan pki --scep against scepter dev", .serialized, .timeLimit(.minutes(5)))
final class StrongSwanClientTests {
    let server: DevServerProcess
    let work: URL

    static let pki = "/usr/bin/pki"

    struct Missing: Error, CustomStringConvertible {
        var description: String { "strongSwan's pki is not installed: run scripts/install-deps --test (strongswan-pki and its plugins)" }
    }

    init() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.pki) else { throw Missing() }
        server = try await DevServerProcess.start()
        work = try Shell.temporaryDirectory()
    }

    deinit { server.terminate() }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// `pki` with `arguments`, bounded in time; stderr carries its log.
    func pki(_ arguments: [String]) async throws -> Shell.Result {
        try await Shell.run("/usr/bin/timeout", ["60", Self.pki] + arguments)
    }

    /// The CA and RA certificates, fetched by strongSwan itself (GetCACert).
    func fetchCA() async throws {
        let fetched = try await pki(["--scepca", "--url", server.scepURL, "--caout", path("ca.pem"), "--raout", path("ra.pem"), "--outform", "pem", "--force"])
        try #require(fetched.status == 0, "\(fetched.stderr)")
    }

    func newKey(_ name: String) async throws -> String {
        let key = try await pki(["--gen", "--type", "rsa", "--size", "2048", "--outform", "pem"])
        try #require(key.status == 0, "\(key.stderr)")
        try key.stdout.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// Enrolls `key` for CN=`name`; the certificate goes to `<name>.pem`.
    func enroll(key: String, name: String, password: String?, extra: [String] = []) async throws -> Shell.Result {
        var arguments = [
            "--scep", "--url", server.scepURL, "--in", key, "--dn", "CN=\(name)", "--san", "\(name).example.com",
            "--cacert-enc", path("ra.pem"), "--cacert-sig", path("ra.pem"), "--cacert", path("ca.pem"),
            "--outform", "pem", "--interval", "1", "--maxpolltime", "10",
        ]
        if let password { arguments += ["--password", password] }
        let run = try await pki(arguments + extra)
        if run.status == 0 { try run.stdout.write(toFile: path("\(name).pem"), atomically: true, encoding: .utf8) }
        return run
    }

    func serial(_ name: String) async throws -> String {
        try await Shell.openssl("x509", "-in", path("\(name).pem"), "-noout", "-serial").stdout
    }

    static let matrix: [(padding: String, digest: String, cipher: String)] = ["pkcs1", "pss"].flatMap { padding in
        ["sha1", "sha224", "sha256", "sha384", "sha512"].flatMap { digest in ["aes", "des3"].map { (padding, digest, $0) } }
    }

    @Test("Enrolls with every padding, digest and cipher it offers", arguments: matrix)
    func enrolls(padding: String, digest: String, cipher: String) async throws {
        try await fetchCA()
        let name = "sw-\(padding)-\(digest)-\(cipher)"
        let run = try await enroll(
            key: try await newKey("\(name).key"), name: name, password: server.challenge,
            extra: ["--rsa-padding", padding, "--digest", digest, "--cipher", cipher, "--debug", "2"])
        #expect(run.status == 0, "\(run.stderr.suffix(3000))")
        if cipher == "aes" {
            // At debug level 2 strongSwan says which algorithms it took from GetCACaps.
            #expect(run.stderr.contains("AES_CBC encryption algorithm supported by CA"), "strongSwan fell back from AES: \(run.stderr.suffix(3000))")
        }
        let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, path("\(name).pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let text = try await Shell.openssl("x509", "-in", path("\(name).pem"), "-noout", "-subject", "-ext", "subjectAltName").stdout
        #expect(text.contains("CN = \(name)") && text.contains("DNS:\(name).example.com"), "\(text)")
    }

    @Test("A host that keeps its key enrolls again under its key-derived transactionID and gets a new certificate")
    func sameKeyEnrollsAgain() async throws {
        try await fetchCA()
        let key = try await newKey("kept.key")
        let first = try await enroll(key: key, name: "sw-kept", password: server.challenge)
        #expect(first.status == 0, "\(first.stderr)")
        let firstSerial = try await serial("sw-kept")
        let again = try await enroll(key: key, name: "sw-kept", password: server.challenge, extra: ["--digest", "sha384"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await serial("sw-kept") != firstSerial)
    }

    @Test("Renews with the certificate it holds: a new key, no challenge")
    func renews() async throws {
        try await fetchCA()
        let oldKey = try await newKey("old.key")
        let first = try await enroll(key: oldKey, name: "sw-renew", password: server.challenge)
        #expect(first.status == 0, "\(first.stderr)")
        try FileManager.default.copyItem(atPath: path("sw-renew.pem"), toPath: path("old.pem"))
        let renewed = try await enroll(
            key: try await newKey("new.key"), name: "sw-renew", password: nil, extra: ["--cert", path("old.pem"), "--key", oldKey])
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(try await serial("sw-renew") != (try await Shell.openssl("x509", "-in", path("old.pem"), "-noout", "-serial").stdout))
        let verify = try await Shell.openssl("verify", "-CAfile", server.caCertificatePath, path("sw-renew.pem"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test("A wrong challenge is FAILURE/badRequest, and strongSwan says so")
    func wrongChallenge() async throws {
        try await fetchCA()
        let run = try await enroll(key: try await newKey("wrong.key"), name: "sw-wrong", password: "not-the-challenge")
        #expect(run.status != 0)
        #expect(run.stderr.contains("badRequest"), "\(run.stderr)")
    }
}
