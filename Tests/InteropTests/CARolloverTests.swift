import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import ScepterTesting

/// A CA rollover announced to clients (RFC 8894 §3.5.2): a real `scepter dev`
/// with `SCEPTER_ISSUER_<NAME>_NEXT_CA_CERT_PATH`, read with curl-like HTTP
/// and checked with `openssl cms` / `openssl pkcs7`.
@Suite("Interop: CA rollover through GetNextCACert", .serialized, .timeLimit(.minutes(2)))
struct CARolloverTests {
    /// `scepter ca init` into `<directory>/<name>`.
    static func makePKI(_ name: String, caName: String, in directory: URL) async throws -> URL {
        let out = directory.appendingPathComponent(name)
        let run = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", out.path, "--ca-name", caName])
        try #require(run.status == 0, "\(run.stderr)")
        return out
    }

    static func environment(current: URL, next: String) -> [String: String] {
        [
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_ISSUERS": "corp",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": current.appendingPathComponent("ca.pem").path,
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": current.appendingPathComponent("ca.key").path,
            "SCEPTER_ISSUER_CORP_NEXT_CA_CERT_PATH": next,
            "SCEPTER_PROFILE_CORP_ISSUER": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": current.appendingPathComponent("ra.pem").path,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": current.appendingPathComponent("ra.key").path,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "rollover-challenge",
        ]
    }

    static func get(_ url: String) async throws -> (status: Int, body: Data) {
        let (body, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, body)
    }

    @Test("The next CA is announced, signed by the current RA, while the current CA keeps issuing")
    func nextCAIsAnnounced() async throws {
        let directory = try Shell.temporaryDirectory()
        let current = try await Self.makePKI("current", caName: "Rollover CA 2026", in: directory)
        let next = try await Self.makePKI("next", caName: "Rollover CA 2027", in: directory)
        let server = try await DevServerProcess.start(environment: Self.environment(current: current, next: next.appendingPathComponent("ca.pem").path))
        defer { server.terminate() }
        let base = "http://127.0.0.1:\(server.port)/scep/corp"

        let caps = try await Self.get(base + "?operation=GetCACaps")
        #expect(String(decoding: caps.body, as: UTF8.self).split(separator: "\n").contains("GetNextCACert"))

        let announced = try await Self.get(base + "?operation=GetNextCACert")
        #expect(announced.status == 200)
        let signed = directory.appendingPathComponent("next.p7")
        try announced.body.write(to: signed)
        // The announcement verifies against what clients already trust: the current CA.
        let verified = directory.appendingPathComponent("next-ca.p7b")
        let verify = try await Shell.openssl(
            "cms", "-verify", "-inform", "DER", "-in", signed.path, "-CAfile", current.appendingPathComponent("ca.pem").path, "-binary",
            "-out", verified.path)
        #expect(verify.status == 0, "\(verify.stderr)")
        let certificates = try await Shell.openssl("pkcs7", "-inform", "DER", "-in", verified.path, "-print_certs", "-noout")
        #expect(certificates.stdout.contains("Rollover CA 2027"), "\(certificates.stdout)\(certificates.stderr)")
        #expect(!certificates.stdout.contains("Rollover CA 2026"))
        // Signed by someone else, it does not verify.
        let foreign = try await Shell.openssl(
            "cms", "-verify", "-inform", "DER", "-in", signed.path, "-CAfile", next.appendingPathComponent("ca.pem").path, "-binary",
            "-out", "/dev/null")
        #expect(foreign.status != 0)

        // Until the switch, the current CA issues.
        try await InteropClient.ensureBuilt()
        let enrolled = try await InteropClient.run([
            "-url", base, "-challenge", "rollover-challenge", "-cn", "before-rollover", "-key-out", directory.appendingPathComponent("d.key").path,
            "-cert-out", directory.appendingPathComponent("d.pem").path,
        ])
        #expect(enrolled.report?.pkiStatus == "SUCCESS", "\(enrolled.stderr)")
        let chain = try await Shell.openssl(
            "verify", "-CAfile", current.appendingPathComponent("ca.pem").path, directory.appendingPathComponent("d.pem").path)
        #expect(chain.status == 0, "\(chain.stdout)\(chain.stderr)")
    }

    @Test("scepter dev's own CA announces its successor too (SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH, on /scep)")
    func devCAAnnouncesItsSuccessor() async throws {
        let directory = try Shell.temporaryDirectory()
        let next = try await Self.makePKI("next", caName: "Dev Rollover CA", in: directory)
        let server = try await DevServerProcess.start(environment: ["SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH": next.appendingPathComponent("ca.pem").path])
        defer { server.terminate() }

        let caps = try await Self.get(server.scepURL + "?operation=GetCACaps")
        #expect(String(decoding: caps.body, as: UTF8.self).split(separator: "\n").contains("GetNextCACert"))
        let announced = try await Self.get(server.scepURL + "?operation=GetNextCACert")
        #expect(announced.status == 200)
        let signed = directory.appendingPathComponent("next.p7")
        try announced.body.write(to: signed)
        let verified = directory.appendingPathComponent("next-ca.p7b")
        let verify = try await Shell.openssl(
            "cms", "-verify", "-inform", "DER", "-in", signed.path, "-CAfile", server.caCertificatePath, "-binary", "-out", verified.path)
        #expect(verify.status == 0, "\(verify.stderr)")
        let certificates = try await Shell.openssl("pkcs7", "-inform", "DER", "-in", verified.path, "-print_certs", "-noout")
        #expect(certificates.stdout.contains("Dev Rollover CA"), "\(certificates.stdout)\(certificates.stderr)")
    }

    /// A `scepter dev` in `directory/data` that issues one certificate with its own CA, then stops:
    /// the new CA's `scepter ca init` files (as `next`) and the certificate's path and serial (lowercase hex).
    static func issuedBeforeTheSwitch(in directory: URL, nextCA: String) async throws -> (data: URL, next: URL, certificate: String, serial: String) {
        let data = directory.appendingPathComponent("data")
        let next = try await makePKI("next", caName: nextCA, in: directory)
        try await InteropClient.ensureBuilt()
        let server = try await DevServerProcess.start(dataDirectory: data)
        defer { server.terminate() }
        let certificate = directory.appendingPathComponent("before.pem").path
        let enrolled = try await InteropClient.run(["-url", server.scepURL, "-challenge", server.challenge, "-cn", "before", "-cert-out", certificate])
        try #require(enrolled.report?.pkiStatus == "SUCCESS", "\(enrolled.stderr)")
        let serial = try await Shell.openssl("x509", "-in", certificate, "-noout", "-serial").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        return (data, next, certificate, serial)
    }

    @Test("After the switch to a new issuer name the old CA's certificates stay revocable: openssl ocsp and the CRL of the retired issuer")
    func retiredIssuerStillAnswers() async throws {
        let directory = try Shell.temporaryDirectory()
        // Before the switch: the dev CA issues.
        let (data, next, before, serial) = try await Self.issuedBeforeTheSwitch(in: directory, nextCA: "Dev Rollover CA")

        // The switch, as docs/ca.md says: the new CA as issuer `next`, the profile pointed at it; `dev` stays served.
        let log = directory.appendingPathComponent("after.log")
        let server = try await DevServerProcess.start(
            dataDirectory: data,
            environment: [
                "SCEPTER_ISSUERS": "next",
                "SCEPTER_ISSUER_NEXT_CA_CERT_PATH": next.appendingPathComponent("ca.pem").path,
                "SCEPTER_ISSUER_NEXT_CA_KEY_PATH": next.appendingPathComponent("ca.key").path,
                "SCEPTER_PROFILES": "default",
                "SCEPTER_PROFILE_DEFAULT_ISSUER": "next",
                "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD": "after-the-switch", "SCEPTER_LOG_LEVEL": "info",
            ], standardErrorFile: log)
        defer { server.terminate() }
        let base = "http://127.0.0.1:\(server.port)"
        let devCA = server.caCertificatePath

        let after = directory.appendingPathComponent("after.pem").path
        let renewed = try await InteropClient.run(["-url", server.scepURL, "-challenge", "after-the-switch", "-cn", "after-switch", "-cert-out", after])
        #expect(renewed.report?.pkiStatus == "SUCCESS", "\(renewed.stderr)")
        #expect(try await Shell.openssl("verify", "-CAfile", next.appendingPathComponent("ca.pem").path, after).status == 0)

        // The old certificate is revoked after the switch, through the admin API.
        let token = try String(contentsOf: data.appendingPathComponent("admin-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var revoke = URLRequest(url: URL(string: base + "/api/v1/certificates/\(serial)/revoke")!)
        revoke.httpMethod = "POST"
        revoke.httpBody = Data(#"{"reason":"keyCompromise"}"#.utf8)
        revoke.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        revoke.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (_, revokeResponse) = try await URLSession.shared.data(for: revoke)
        #expect((revokeResponse as? HTTPURLResponse)?.statusCode == 200)

        // What a relying party reads at the URLs the old certificate carries.
        let ocsp = try await Shell.run(
            "/usr/bin/openssl", ["ocsp", "-url", base + "/ocsp/dev", "-CAfile", devCA, "-issuer", devCA, "-cert", before, "-resp_text"])
        #expect(ocsp.stdout.contains("\(before): revoked"), "\(ocsp.stdout)\(ocsp.stderr)")
        #expect(ocsp.stderr.contains("Response verify OK"), "\(ocsp.stderr)")
        let crl = try await Self.get(base + "/crl/dev.crl")
        #expect(crl.status == 200)
        let crlPath = directory.appendingPathComponent("dev.crl")
        try crl.body.write(to: crlPath)
        let listed = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath.path, "-CAfile", devCA, "-noout", "-text")
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.uppercased().contains(serial.uppercased()), "\(listed.stdout)")
        // The new issuer's CRL is its own, and the start logged no replaced CA.
        let nextCRL = try await Self.get(base + "/crl/next.crl")
        #expect(nextCRL.status == 200)
        // Once the check has run (it runs beside the start), it found nothing.
        let checked = try await server.waitForLog { $0.contains("issuer continuity checked") }
        #expect(checked.contains("problems=0"), "\(checked)")
        #expect(!checked.contains("did not sign certificate"), "\(checked)")

        // The operator's view: dev retired with the certificate it still answers for, next current.
        var issuersRequest = URLRequest(url: URL(string: base + "/api/v1/issuers")!)
        issuersRequest.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (issuersBody, _) = try await URLSession.shared.data(for: issuersRequest)
        let issuers = try #require(try JSONSerialization.jsonObject(with: issuersBody) as? [[String: Any]])
        #expect(issuers.map { $0["name"] as? String } == ["dev", "next"], "\(issuers)")
        #expect(issuers.map { $0["state"] as? String } == ["retired", "current"], "\(issuers)")
        #expect((issuers.first?["certificates"] as? [String: Any])?["revoked"] as? Int == 1, "\(issuers)")
        #expect((issuers.last?["profiles"] as? [String]) == ["default"], "\(issuers)")
        // And Prometheus's, as counted at start: the certificates issued before the switch under dev, none yet under next.
        let metrics = String(decoding: try await Self.get(base + "/metrics").body, as: UTF8.self).split(separator: "\n")
        let retired = metrics.first { $0.hasPrefix(#"scepter_issuer_unexpired_certificates{issuer="dev",state="retired"} "#) }
        #expect((retired?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 1, "\(metrics)")
        #expect(metrics.contains(#"scepter_issuer_unexpired_certificates{issuer="next",state="current"} 0.0"#), "\(metrics)")
    }

    @Test("Swapping the CA files under the issuer's name is reported at start, naming a certificate of the replaced CA")
    func swappedCAIsReported() async throws {
        let directory = try Shell.temporaryDirectory()
        let (data, next, _, serial) = try await Self.issuedBeforeTheSwitch(in: directory, nextCA: "Swapped In CA")

        // The mistake: the dev CA's files replaced by another CA's, under the same name.
        for file in ["ca.pem", "ca.key"] {
            let target = data.appendingPathComponent(file)
            try FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: next.appendingPathComponent(file), to: target)
        }
        let server = try await DevServerProcess.start(dataDirectory: data, standardErrorFile: directory.appendingPathComponent("swapped.log"))
        defer { server.terminate() }
        let text = try await server.waitForLog { $0.contains("did not sign certificate") }
        #expect(text.contains("issuer dev's CA"), "\(text)")
        #expect(text.lowercased().contains(serial), "\(text)")
    }

    @Test(
        "Preflight refuses a next CA that is the current one, not a CA, or not a certificate, naming the variable",
        arguments: ["current", "ra", "garbage"])
    func preflightRefuses(kind: String) async throws {
        let directory = try Shell.temporaryDirectory()
        let current = try await Self.makePKI("current", caName: "Rollover CA 2026", in: directory)
        let path: String
        switch kind {
        case "current": path = current.appendingPathComponent("ca.pem").path
        case "ra": path = current.appendingPathComponent("ra.pem").path
        default:
            path = directory.appendingPathComponent("garbage.pem").path
            try "not a certificate\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in Self.environment(current: current, next: path) { environment[key] = value }
        let run = try await Shell.run(
            "/usr/bin/timeout", ["30", DevServerProcess.binary, "dev", "--data-dir", directory.appendingPathComponent("data").path, "--port", "0"],
            environment: environment)
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("SCEPTER_ISSUER_CORP_NEXT_CA_CERT_PATH"), "\(run.stderr)")
    }
}
