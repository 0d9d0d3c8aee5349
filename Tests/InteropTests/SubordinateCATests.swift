import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import ScepterTesting

/// Scepter's issuing CA as a subordinate of an enterprise CA: `scepter ca csr`
/// signed by OpenSSL standing in for AD CS, `scepter ca ra`, then `scepter dev`
/// issuing to micromdm's client, checked with `openssl verify` up to the
/// enterprise root.
@Suite("Interop: a subordinate CA of an enterprise CA (ca csr, ca ra, ca init --subject)", .serialized, .timeLimit(.minutes(3)))
struct SubordinateCATests {
    static func scepter(_ arguments: String...) async throws -> Shell.Result {
        try await Shell.run(DevServerProcess.binary, arguments)
    }

    /// The enterprise root: a self-signed RSA 2048 CA made by OpenSSL, not by Scepter.
    static func makeEnterpriseRoot(in directory: URL) async throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("enterprise-root.pem").path
        let key = directory.appendingPathComponent("enterprise-root.key").path
        let made = try await Shell.openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "3650",
            "-subj", "/C=US/O=Example Corp/CN=Example Enterprise Root",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        try #require(made.status == 0, "\(made.stderr)")
        return (certificate, key)
    }

    /// The subject as OpenSSL prints it, RFC 2253 order.
    static func subject(of certificate: String) async throws -> String {
        try await Shell.openssl("x509", "-in", certificate, "-noout", "-subject", "-nameopt", "RFC2253").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("ca csr, signed by an OpenSSL enterprise root, and ca ra: scepter dev issues a certificate that verifies up to the root, and GetCACert carries the chain")
    func enterpriseSignedCAIssues() async throws {
        let directory = try Shell.temporaryDirectory()
        let root = try await Self.makeEnterpriseRoot(in: directory)
        let sub = directory.appendingPathComponent("sub")
        let caCertificate = sub.appendingPathComponent("ca.pem").path
        let caKey = sub.appendingPathComponent("ca.key").path

        // 1. The key and the request.
        let requested = try await Self.scepter("ca", "csr", "--out", sub.path, "--rsa2048", "--subject", "CN=Example Device CA,O=Example Corp,C=US")
        try #require(requested.status == 0, "\(requested.stderr)")
        #expect(requested.stdout.contains(#"certreq -submit -attrib "CertificateTemplate:SubCA" ca.csr ca.cer"#), "\(requested.stdout)")
        #expect(requested.stdout.contains("scepter ca ra --out \(sub.path)"), "\(requested.stdout)")
        let keyMode = try FileManager.default.attributesOfItem(atPath: caKey)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let request = try await Shell.openssl("req", "-in", sub.appendingPathComponent("ca.csr").path, "-noout", "-text", "-verify")
        #expect(request.status == 0, "\(request.stderr)")
        #expect(request.stdout.contains("Subject: C = US, O = Example Corp, CN = Example Device CA"), "\(request.stdout)")
        #expect(request.stdout.contains("X509v3 Basic Constraints: critical\n                    CA:TRUE, pathlen:0"), "\(request.stdout)")
        #expect(request.stdout.contains("X509v3 Key Usage: critical\n                    Digital Signature, Certificate Sign, CRL Sign"), "\(request.stdout)")
        // Run again, it overwrites nothing.
        let again = try await Self.scepter("ca", "csr", "--out", sub.path, "--ca-name", "Another")
        #expect(again.status != 0)
        #expect(again.stderr.contains("\(sub.path)/ca.key already exists"), "\(again.stderr)")

        // 2. The enterprise CA signs it with the requested extensions.
        let signed = try await Shell.openssl(
            "x509", "-req", "-in", sub.appendingPathComponent("ca.csr").path, "-CA", root.certificate, "-CAkey", root.key,
            "-copy_extensions", "copy", "-days", "1825", "-out", caCertificate)
        try #require(signed.status == 0, "\(signed.stderr)")

        // 3. The RA, checked against the CA and the chain.
        let ra = try await Self.scepter("ca", "ra", "--out", sub.path, "--ca-cert", caCertificate, "--ca-key", caKey, "--chain", root.certificate)
        try #require(ra.status == 0, "\(ra.stderr)")
        for line in [
            "SCEPTER_ISSUER_<NAME>_CA_CERT_PATH=\(caCertificate)", "SCEPTER_ISSUER_<NAME>_CA_KEY_PATH=\(caKey)",
            "SCEPTER_ISSUER_<NAME>_CHAIN_PATH=\(root.certificate)", "SCEPTER_PROFILE_<NAME>_RA_CERT_PATH=\(sub.path)/ra.pem",
            "SCEPTER_PROFILE_<NAME>_RA_KEY_PATH=\(sub.path)/ra.key",
        ] {
            #expect(ra.stdout.contains(line), "\(ra.stdout)")
        }
        let raChain = try await Shell.openssl("verify", "-CAfile", root.certificate, "-untrusted", caCertificate, sub.appendingPathComponent("ra.pem").path)
        #expect(raChain.status == 0, "\(raChain.stdout)\(raChain.stderr)")

        // 4. Scepter issues from it, with the enterprise root as the chain.
        let server = try await DevServerProcess.start(environment: [
            "SCEPTER_ISSUERS": "corp",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": caCertificate,
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": caKey,
            "SCEPTER_ISSUER_CORP_CHAIN_PATH": root.certificate,
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_ISSUER": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": sub.appendingPathComponent("ra.pem").path,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": sub.appendingPathComponent("ra.key").path,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "subordinate-challenge",
        ])
        defer { server.terminate() }
        let base = "http://127.0.0.1:\(server.port)"
        try await InteropClient.ensureBuilt()

        // GetCACert: the issuing CA, the enterprise root above it, the RA.
        let fetched = directory.appendingPathComponent("getcacert.pem").path
        let caCert = try await InteropClient.run(["-url", base + "/scep/corp", "-op", "getcacert", "-ca-out", fetched])
        #expect(caCert.status == 0, "\(caCert.stderr)")
        let listed = try await Shell.run("/bin/sh", ["-c", #"openssl crl2pkcs7 -nocrl -certfile "$0" | openssl pkcs7 -print_certs -noout"#, fetched])
        let names = listed.stdout.split(separator: "\n").filter { $0.hasPrefix("subject=") }
        #expect(
            names == ["subject=C = US, O = Example Corp, CN = Example Device CA", "subject=C = US, O = Example Corp, CN = Example Enterprise Root",
                      "subject=O = Scepter, CN = Scepter SCEP RA"],
            "\(listed.stdout)\(listed.stderr)")

        let device = directory.appendingPathComponent("device.pem").path
        let enrolled = try await InteropClient.run([
            "-url", base + "/scep/corp", "-challenge", "subordinate-challenge", "-cn", "laptop-under-enterprise-root",
            "-key-out", directory.appendingPathComponent("device.key").path, "-cert-out", device,
        ])
        #expect(enrolled.report?.pkiStatus == "SUCCESS", "\(enrolled.stderr)")
        #expect(enrolled.report?.signatureOK == true)
        let verified = try await Shell.openssl("verify", "-CAfile", root.certificate, "-untrusted", caCertificate, device)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(try await Self.subject(of: device) == "subject=CN=laptop-under-enterprise-root")
        // The root alone does not verify it: the issuing CA is a real link of the chain.
        let rootOnly = try await Shell.openssl("verify", "-CAfile", root.certificate, device)
        #expect(rootOnly.status != 0)

        // The CA's CRL verifies too (cRLSign), as a relying party with the enterprise root checks it.
        let (crlBody, crlResponse) = try await URLSession.shared.data(from: URL(string: base + "/crl/corp.crl")!)
        #expect((crlResponse as? HTTPURLResponse)?.statusCode == 200)
        let crlDER = directory.appendingPathComponent("corp.crl")
        try crlBody.write(to: crlDER)
        let crlPEM = directory.appendingPathComponent("corp-crl.pem").path
        #expect(try await Shell.openssl("crl", "-inform", "DER", "-in", crlDER.path, "-out", crlPEM).status == 0)
        let withCRL = try await Shell.openssl(
            "verify", "-crl_check", "-CRLfile", crlPEM, "-CAfile", root.certificate, "-untrusted", caCertificate, device)
        #expect(withCRL.status == 0, "\(withCRL.stdout)\(withCRL.stderr)")
    }

    @Test(
        "ca ra refuses a key of another CA, a certificate that is not a CA, one without keyCertSign, an expired one, and a wrong chain, naming the input and writing nothing",
        arguments: ["mismatched key", "not a CA", "no keyCertSign", "expired", "wrong chain"])
    func raRefuses(_ kind: String) async throws {
        let directory = try Shell.temporaryDirectory()
        let root = try await Self.makeEnterpriseRoot(in: directory)
        let sub = directory.appendingPathComponent("sub")
        let requested = try await Self.scepter("ca", "csr", "--out", sub.path, "--ecdsa", "--ca-name", "Refusal CA")
        try #require(requested.status == 0, "\(requested.stderr)")
        let csr = sub.appendingPathComponent("ca.csr").path
        var certificate = sub.appendingPathComponent("ca.pem").path
        var key = sub.appendingPathComponent("ca.key").path
        var extra: [String] = []
        let expected: String
        switch kind {
        case "mismatched key":
            #expect(try await Shell.openssl("x509", "-req", "-in", csr, "-CA", root.certificate, "-CAkey", root.key, "-copy_extensions", "copy", "-out", certificate).status == 0)
            let other = directory.appendingPathComponent("other")
            #expect(try await Self.scepter("ca", "csr", "--out", other.path, "--ecdsa", "--ca-name", "Other CA").status == 0)
            key = other.appendingPathComponent("ca.key").path
            expected = "--ca-key \(key) does not belong to --ca-cert \(certificate)"
        case "not a CA":
            // The enterprise CA signed it with an end-entity profile (CA:FALSE).
            let extfile = directory.appendingPathComponent("leaf.ext").path
            try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n".write(toFile: extfile, atomically: true, encoding: .utf8)
            #expect(try await Shell.openssl("x509", "-req", "-in", csr, "-CA", root.certificate, "-CAkey", root.key, "-extfile", extfile, "-out", certificate).status == 0)
            expected = "--ca-cert \(certificate) is not a CA certificate: its basicConstraints do not say CA:TRUE"
        case "no keyCertSign":
            let extfile = directory.appendingPathComponent("ca.ext").path
            try "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,cRLSign\n".write(toFile: extfile, atomically: true, encoding: .utf8)
            #expect(try await Shell.openssl("x509", "-req", "-in", csr, "-CA", root.certificate, "-CAkey", root.key, "-extfile", extfile, "-out", certificate).status == 0)
            expected = "--ca-cert \(certificate) cannot sign what Scepter signs: its keyUsage (digitalSignature, cRLSign) lacks keyCertSign"
        case "expired":
            // OpenSSL 3.0's x509 cannot backdate; the expired CA comes from the test PKI.
            let expired = try TestPKI.makeCA(
                commonName: "Expired CA", notBefore: Date().addingTimeInterval(-400 * 86400), notAfter: Date().addingTimeInterval(-86400))
            certificate = directory.appendingPathComponent("expired.pem").path
            key = directory.appendingPathComponent("expired.key").path
            try expired.certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
            #expect(FileManager.default.createFile(atPath: key, contents: Data(expired.keyPEM.utf8), attributes: [.posixPermissions: 0o600]))
            expected = "--ca-cert \(certificate) expired on"
        default:
            #expect(try await Shell.openssl("x509", "-req", "-in", csr, "-CA", root.certificate, "-CAkey", root.key, "-copy_extensions", "copy", "-out", certificate).status == 0)
            let unrelated = try await Self.makeEnterpriseRoot(in: try Shell.temporaryDirectory())
            extra = ["--chain", unrelated.certificate]
            expected = "--chain \(unrelated.certificate): certificate 1 (CN=Example Enterprise Root,O=Example Corp,C=US) did not sign CN=Refusal CA,O=Scepter"
        }
        let out = directory.appendingPathComponent("ra-out")
        let refused = try await Shell.run(DevServerProcess.binary, ["ca", "ra", "--out", out.path, "--ca-cert", certificate, "--ca-key", key] + extra)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains(expected), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("ra.pem").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("ra.key").path))
    }

    @Test("ca ra --split writes a signing pair and an encryption pair, each with its one key usage and signed by the CA, prints their variables, and overwrites neither")
    func splitRA() async throws {
        let directory = try Shell.temporaryDirectory()
        let ca = directory.appendingPathComponent("ca")
        try #require(try await Self.scepter("ca", "init", "--out", ca.path, "--rsa2048").status == 0)
        let out = directory.appendingPathComponent("ra")
        let arguments = ["ca", "ra", "--split", "--out", out.path, "--ca-cert", ca.path + "/ca.pem", "--ca-key", ca.path + "/ca.key", "--ra-name", "Split RA"]
        let made = try await Shell.run(DevServerProcess.binary, arguments)
        try #require(made.status == 0, "\(made.stderr)")
        for (file, usage, subject) in [("ra", "Digital Signature", "CN=Split RA,O=Scepter"), ("ra-encryption", "Key Encipherment", "CN=Split RA (encryption),O=Scepter")] {
            let certificate = out.appendingPathComponent("\(file).pem").path
            let text = try await Shell.openssl("x509", "-in", certificate, "-noout", "-ext", "keyUsage").stdout
            #expect(text.contains("critical") && text.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces) == usage, "\(file): \(text)")
            #expect(try await Self.subject(of: certificate) == "subject=\(subject)")
            #expect(try await Shell.openssl("verify", "-CAfile", ca.path + "/ca.pem", certificate).status == 0)
            let mode = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("\(file).key").path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file).key")
        }
        #expect(made.stdout.contains("SCEPTER_PROFILE_<NAME>_RA_ENCRYPTION_CERT_PATH=\(out.path)/ra-encryption.pem"), "\(made.stdout)")
        #expect(made.stdout.contains("SCEPTER_PROFILE_<NAME>_RA_ENCRYPTION_KEY_PATH=\(out.path)/ra-encryption.key"), "\(made.stdout)")
        let again = try await Shell.run(DevServerProcess.binary, arguments)
        #expect(again.status != 0 && again.stderr.contains("refusing to overwrite an RA"), "\(again.stderr)")
    }

    @Test("ca init --subject sets the CA's subject as written; --ca-name still gives O=Scepter; the RA is signed by the CA")
    func initSubject() async throws {
        let directory = try Shell.temporaryDirectory()
        let out = directory.appendingPathComponent("pki")
        let made = try await Self.scepter("ca", "init", "--out", out.path, "--ecdsa", "--subject", #"CN=Example Device CA, O=Example Corp\, Inc., OU=Devices,C=us"#)
        try #require(made.status == 0, "\(made.stderr)")
        let ca = out.appendingPathComponent("ca.pem").path
        #expect(try await Self.subject(of: ca) == #"subject=CN=Example Device CA,O=Example Corp\, Inc.,OU=Devices,C=US"#)
        let issuer = try await Shell.openssl("x509", "-in", ca, "-noout", "-issuer", "-nameopt", "RFC2253").stdout
        #expect(issuer.contains(#"issuer=CN=Example Device CA,O=Example Corp\, Inc.,OU=Devices,C=US"#), "\(issuer)")
        #expect(try await Shell.openssl("verify", "-CAfile", ca, out.appendingPathComponent("ra.pem").path).status == 0)

        let named = directory.appendingPathComponent("named")
        #expect(try await Self.scepter("ca", "init", "--out", named.path, "--ca-name", "Plain CA").status == 0)
        #expect(try await Self.subject(of: named.appendingPathComponent("ca.pem").path) == "subject=CN=Plain CA,O=Scepter")
    }

    @Test(
        "ca init and ca csr refuse a --subject that does not parse, naming the option, and write nothing",
        arguments: ["Example Device CA", "CN=", "CN=Device CA,XX=1", "O=Example Corp", "CN=Device CA,C=USA", "CN=a+OU=b", "CN=Device CA\\"])
    func subjectGarbage(_ subject: String) async throws {
        for command in ["init", "csr"] {
            let out = try Shell.temporaryDirectory().appendingPathComponent("pki")
            let refused = try await Self.scepter("ca", command, "--out", out.path, "--subject", subject)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("Error: --subject: "), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }

    @Test("ca csr needs exactly one of --ca-name and --subject")
    func csrNeedsAName() async throws {
        let out = try Shell.temporaryDirectory().appendingPathComponent("pki")
        let neither = try await Self.scepter("ca", "csr", "--out", out.path)
        #expect(neither.status != 0)
        #expect(neither.stderr.contains("give --ca-name NAME or --subject DN"), "\(neither.stderr)")
        let both = try await Self.scepter("ca", "csr", "--out", out.path, "--ca-name", "A", "--subject", "CN=A")
        #expect(both.status != 0)
        #expect(both.stderr.contains("not both"), "\(both.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
