import Foundation
import Testing
import ScepterTesting
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `openssl ocsp` and `openssl verify -crl_check` against a real `scepter dev`
/// process: good, revoked with its reason after an admin revokes through the
/// API, unknown, unauthorized, nonce, SHA-256 CertIDs, the GET form (SPEC §8).
@Suite("Interop: OCSP and CRL with the OpenSSL command line", .serialized, .timeLimit(.minutes(3)))
final class OCSPInteropTests {
    let server: DevServerProcess
    let work: URL
    var base: String { "http://127.0.0.1:\(server.port)" }

    init() async throws {
        try await InteropClient.ensureBuilt()
        work = try Shell.temporaryDirectory()
        server = try await DevServerProcess.start()
    }

    deinit { server.terminate() }

    var adminToken: String {
        get throws {
            try String(contentsOf: server.dataDirectory.appendingPathComponent("admin-token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Enrolls with micromdm's client; returns the certificate's path.
    func enroll(_ name: String) async throws -> String {
        let path = work.appendingPathComponent("\(name).pem").path
        let run = try await InteropClient.run(["-url", server.scepURL, "-challenge", server.challenge, "-cn", name, "-cert-out", path])
        #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
        return path
    }

    func ocsp(_ arguments: [String]) async throws -> Shell.Result {
        try await Shell.run("/usr/bin/openssl", ["ocsp", "-url", "\(base)/ocsp/dev", "-CAfile", server.caCertificatePath, "-resp_text"] + arguments)
    }

    func http(_ method: String, _ path: String, body: Data? = nil, token: String? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    @Test("good, then revoked with its reason once an admin revokes it; the CRL agrees; nonce echoed; SHA-1 and SHA-256 CertIDs")
    func goodThenRevoked() async throws {
        let certificate = try await enroll("ocsp-laptop")
        for digest in ["-sha1", "-sha256"] {
            let good = try await ocsp([digest, "-issuer", server.caCertificatePath, "-cert", certificate])
            #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
            #expect(good.stdout.contains("\(certificate): good"), "\(good.stdout)")
            #expect(good.stderr.contains("Response verify OK"), "\(good.stderr)")
            #expect(good.stdout.contains("OCSP Nonce"), "the nonce is echoed: \(good.stdout)")
            #expect(good.stdout.contains("OCSP Signing") || good.stdout.contains("OCSP Responder"), "delegated responder: \(good.stdout)")
        }

        let serial = try await Shell.openssl("x509", "-in", certificate, "-noout", "-serial").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "").lowercased()
        let (status, body) = try await http("POST", "/api/v1/certificates/\(serial)/revoke", body: Data(#"{"reason":"keyCompromise"}"#.utf8), token: try adminToken)
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")

        let revoked = try await ocsp(["-issuer", server.caCertificatePath, "-cert", certificate])
        #expect(revoked.stdout.contains("\(certificate): revoked"), "\(revoked.stdout)")
        #expect(revoked.stdout.contains("Reason: keyCompromise"), "\(revoked.stdout)")
        #expect(revoked.stderr.contains("Response verify OK"))

        // The public CRL, fetched over HTTP, lists it; openssl verify -crl_check refuses the certificate.
        let (crlStatus, crl) = try await http("GET", "/crl/dev.crl")
        #expect(crlStatus == 200)
        let crlPath = work.appendingPathComponent("dev.crl").path
        try crl.write(to: URL(fileURLWithPath: crlPath))
        #expect(try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-CAfile", server.caCertificatePath, "-noout").status == 0)
        let pem = work.appendingPathComponent("dev-crl.pem").path
        _ = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-out", pem)
        let verify = try await Shell.openssl("verify", "-crl_check", "-CAfile", server.caCertificatePath, "-CRLfile", pem, certificate)
        #expect((verify.stdout + verify.stderr).contains("certificate revoked"))

        // What relying parties got, as Prometheus reads it.
        let metrics = try await metricLines()
        #expect(metrics.contains(#"scepter_ocsp_responses_total{issuer="dev",result="good"} 2"#), "\(metrics)")
        #expect(metrics.contains(#"scepter_ocsp_responses_total{issuer="dev",result="revoked"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"scepter_ocsp_responses_total{issuer="dev",result="try_later"} 0"#), "exported at 0: \(metrics)")
        #expect(metrics.contains(#"scepter_crl_responses_total{issuer="dev",result="served"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"scepter_crl_entries{issuer="dev"} 1.0"#), "\(metrics)")
    }

    /// The server's /metrics, one line each.
    func metricLines() async throws -> [String] {
        let (status, body) = try await http("GET", "/metrics")
        #expect(status == 200)
        return String(decoding: body, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("A serial this CA never issued through Scepter is unknown; another CA's question is unauthorized; garbage is malformedRequest")
    func unknownUnauthorizedMalformed() async throws {
        let unknown = try await ocsp(["-issuer", server.caCertificatePath, "-serial", "0x0123456789abcdef"])
        #expect(unknown.stdout.contains("unknown"), "\(unknown.stdout)\(unknown.stderr)")

        let other = work.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let made = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", other.path])
        #expect(made.status == 0, "\(made.stderr)")
        let foreign = try await Shell.run(
            "/usr/bin/openssl", ["ocsp", "-url", "\(base)/ocsp/dev", "-issuer", other.appendingPathComponent("ca.pem").path, "-serial", "0x01"])
        #expect((foreign.stdout + foreign.stderr).contains("unauthorized"), "\(foreign.stdout)\(foreign.stderr)")

        var request = URLRequest(url: URL(string: "\(base)/ocsp/dev")!)
        request.httpMethod = "POST"
        request.httpBody = Data("not an OCSP request".utf8)
        request.setValue("application/ocsp-request", forHTTPHeaderField: "Content-Type")
        let (data, _) = try await URLSession.shared.data(for: request)
        #expect(Array(data) == [0x30, 0x03, 0x0A, 0x01, 0x01], "malformedRequest")
        #expect(try await http("GET", "/ocsp/nobody/MAA=").0 == 404)

        let metrics = try await metricLines()
        for (result, count) in [("unknown", 1), ("unauthorized", 1), ("malformed_request", 1)] {
            #expect(metrics.contains(#"scepter_ocsp_responses_total{issuer="dev",result="\#(result)"} \#(count)"#), "\(metrics)")
        }
        #expect(!metrics.contains { $0.contains(#"issuer="nobody""#) }, "an unknown issuer in a URL makes no series")
    }

    @Test("The GET form (RFC 5019): base64 in the path, cacheable, the same answer")
    func getForm() async throws {
        let certificate = try await enroll("ocsp-get")
        let requestPath = work.appendingPathComponent("req.der").path
        _ = try await Shell.openssl("ocsp", "-issuer", server.caCertificatePath, "-cert", certificate, "-no_nonce", "-reqout", requestPath)
        let der = try Data(contentsOf: URL(fileURLWithPath: requestPath))
        let encoded = der.base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        var request = URLRequest(url: URL(string: "\(base)/ocsp/dev/\(encoded)")!)
        request.httpMethod = "GET"
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200)
        #expect(http.value(forHTTPHeaderField: "Content-Type") == "application/ocsp-response")
        #expect(http.value(forHTTPHeaderField: "Cache-Control")?.contains("max-age=") == true)
        let responsePath = work.appendingPathComponent("resp.der").path
        try data.write(to: URL(fileURLWithPath: responsePath))
        let read = try await Shell.run(
            "/usr/bin/openssl",
            ["ocsp", "-respin", responsePath, "-issuer", server.caCertificatePath, "-cert", certificate, "-CAfile", server.caCertificatePath, "-no_nonce"])
        #expect(read.stdout.contains("\(certificate): good"), "\(read.stdout)\(read.stderr)")
        #expect(read.stderr.contains("Response verify OK"))
        // Asked again: the same signed bytes (reused, not signed anew).
        let (again, _) = try await URLSession.shared.data(for: request)
        #expect(again == data)
    }

    @Test("SCEPTER_OCSP_SIGNER=ca: the CA key signs the answers, and openssl accepts them without a delegation")
    func caSigned() async throws {
        let caSigned = try await DevServerProcess.start(environment: ["SCEPTER_OCSP_SIGNER": "ca"])
        defer { caSigned.terminate() }
        let path = work.appendingPathComponent("ca-signed.pem").path
        let run = try await InteropClient.run(["-url", caSigned.scepURL, "-challenge", caSigned.challenge, "-cn", "ca-signed", "-cert-out", path])
        #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
        let answer = try await Shell.run(
            "/usr/bin/openssl",
            ["ocsp", "-url", "http://127.0.0.1:\(caSigned.port)/ocsp/dev", "-CAfile", caSigned.caCertificatePath, "-resp_text", "-issuer",
                caSigned.caCertificatePath, "-cert", path])
        #expect(answer.stdout.contains("\(path): good"), "\(answer.stdout)\(answer.stderr)")
        #expect(answer.stderr.contains("Response verify OK"))
        #expect(!answer.stdout.contains("OCSP Responder"), "no delegated responder certificate: \(answer.stdout)")
    }
}
