import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// The cluster with TLS between its parts: the control plane on HTTPS with
/// mutual TLS for the internal API, edges verifying it with their CA bundle
/// and presenting client certificates.
@Suite("Cluster: TLS between edges and the control plane", .serialized, .timeLimit(.minutes(3)))
struct TLSClusterTests {
    static func environment(_ tls: TestTLS, port: Int) -> [String: String] {
        [
            "SCEPTER_CONTROL_TLS_CERT_PATH": tls.serverCertificatePath, "SCEPTER_CONTROL_TLS_KEY_PATH": tls.serverKeyPath,
            "SCEPTER_CONTROL_CLIENT_CA_PATH": tls.caPath, "SCEPTER_CONTROL_URL": "https://127.0.0.1:\(port)",
            "SCEPTER_CONTROL_CA_PATH": tls.caPath, "SCEPTER_EDGE_CLIENT_CERT_PATH": tls.clientCertificatePath,
            "SCEPTER_EDGE_CLIENT_KEY_PATH": tls.clientKeyPath,
        ]
    }

    static func readiness(_ cluster: TestCluster, edge: Int) async throws -> TestCluster.HTTPAnswer {
        try await cluster.http(cluster.edgeURL(edge, "/readyz"))
    }

    /// What `openssl s_client` trusting `ca` gets for GET `path` on
    /// 127.0.0.1:`port`: the request asks the server to close, and `-quiet`
    /// (which ignores stdin's end) waits for it, so nothing races.
    static func getOverTLS(port: Int, ca: String, path: String) async throws -> Shell.Result {
        let request = try Shell.temporaryDirectory().appendingPathComponent("request")
        try "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".write(to: request, atomically: true, encoding: .utf8)
        return try await Shell.run("/bin/sh", [
            "-c",
            "timeout 30 openssl s_client -connect 127.0.0.1:\(port) -servername localhost -CAfile \(ca) -verify_return_error -quiet < \(request.path) 2>/dev/null",
        ])
    }

    /// What the listener's `/metrics` says of the served certificate's notAfter, against the file's.
    static func expectPublishedNotAfter(port: Int, ca: String, certificate: String) async throws {
        let pem = try String(contentsOfFile: certificate, encoding: .utf8)
        let notAfter = try #require(PEM.firstBlock(in: pem, label: "CERTIFICATE").flatMap { CertificateExpiry.validity(of: $0)?.upperBound })
        let metrics = try await getOverTLS(port: port, ca: ca, path: "/metrics")
        let line = "scepter_tls_certificate_not_after_seconds \(Int(notAfter.timeIntervalSince1970)).0"
        #expect(metrics.stdout.contains(line), "\(line) not in \(metrics.stdout.suffix(2000))")
    }

    /// The serial of the certificate the listener on `port` serves now.
    static func servedSerial(port: Int) async throws -> String {
        try await Shell.run("/bin/sh", [
            "-c", "timeout 30 openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial",
        ]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Puts `source` in place of `file`, sends SIGHUP and waits (bounded) for `logLine` in the edge's log.
    static func replace(_ file: String, with source: String, thenSIGHUP edge: RoleProcess, until logLine: String) async throws {
        try FileManager.default.removeItem(atPath: file)
        try FileManager.default.copyItem(atPath: source, toPath: file)
        kill(edge.pid, SIGHUP)
        let deadline = ContinuousClock.now + .seconds(15)
        while !edge.log.contains(logLine), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("An edge serves SCEP over HTTPS and serves a renewed certificate after SIGHUP, without a restart")
    func edgeHTTPSAndReload() async throws {
        let tls = try await TestTLS.make()
        let certificate = tls.path("edge.pem")
        let key = tls.path("edge.key")
        try FileManager.default.copyItem(atPath: tls.serverCertificatePath, toPath: certificate)
        try FileManager.default.copyItem(atPath: tls.serverKeyPath, toPath: key)
        try await ClusterTests.withCluster(edges: 0) { cluster in
            let edge = try await cluster.startEdge(
                id: "edge-https", environment: ["SCEPTER_EDGE_TLS_CERT_PATH": certificate, "SCEPTER_EDGE_TLS_KEY_PATH": key])
            let caps = try await Self.getOverTLS(port: edge.port, ca: tls.caPath, path: "/scep/corp?operation=GetCACaps")
            #expect(caps.stdout.contains("200") && caps.stdout.contains("AES"), "\(caps.stdout)\(caps.stderr)")
            let before = try await Self.servedSerial(port: edge.port)
            #expect(before.hasPrefix("serial="))
            try await Self.expectPublishedNotAfter(port: edge.port, ca: tls.caPath, certificate: certificate)

            // Half a renewal (the new certificate, the old key), then SIGHUP: refused with the reason, the old one still served.
            try await tls.issueServerCertificate("renewed", days: 20)  // another notAfter, so the gauge must move
            try await Self.replace(certificate, with: tls.path("renewed.pem"), thenSIGHUP: edge, until: "TLS certificate reload failed")
            #expect(edge.log.contains("the private key does not belong to the certificate"), "\(edge.log)")
            #expect(try await Self.servedSerial(port: edge.port) == before)

            // The whole renewal in place, then SIGHUP: the edge keeps running and serves the new one.
            try await Self.replace(key, with: tls.path("renewed.key"), thenSIGHUP: edge, until: "TLS certificate reloaded")
            #expect(edge.log.contains("TLS certificate reloaded"), "\(edge.log)")
            let after = try await Self.servedSerial(port: edge.port)
            #expect(after.hasPrefix("serial=") && after != before, "before \(before), after \(after)")
            try await Self.expectPublishedNotAfter(port: edge.port, ca: tls.caPath, certificate: certificate)
            #expect(edge.isRunning)
        }
    }

    @Test("Edges with the control plane's CA and a client certificate enroll over mutual TLS; without a certificate, with a rogue one, or trusting another CA they cannot")
    func mutualTLS() async throws {
        let tls = try await TestTLS.make()
        let port = try RedisServerProcess.freeLoopbackPort()
        var environment = Self.environment(tls, port: port)
        environment["SCEPTER_CONTROL_LISTEN"] = "127.0.0.1:\(port)"
        try await ClusterTests.withCluster(edges: 0, environment: environment) { cluster in
            try await cluster.startEdge(id: "edge-tls")
            #expect(try await Self.readiness(cluster, edge: 0).status == 200)
            let device = try TestDevice(commonName: "over-tls", challenge: TestCluster.staticPassword)
            let enrolled = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 0)
            #expect(try TestCluster.reply(enrolled, device: device).status == .success)

            // No client certificate: the token alone does not open the internal API.
            try await cluster.startEdge(id: "edge-no-cert", environment: ["SCEPTER_EDGE_CLIENT_CERT_PATH": "", "SCEPTER_EDGE_CLIENT_KEY_PATH": ""])
            let noCert = try await Self.readiness(cluster, edge: 1)
            #expect(noCert.status == 503)
            #expect(noCert.text.contains("SCEPTER_CONTROL_CLIENT_CA_PATH"), "\(noCert.text)")

            // A client certificate from another CA: the handshake fails.
            try await cluster.startEdge(id: "edge-rogue", environment: [
                "SCEPTER_EDGE_CLIENT_CERT_PATH": tls.rogueClientCertificatePath, "SCEPTER_EDGE_CLIENT_KEY_PATH": tls.rogueClientKeyPath,
            ])
            #expect(try await Self.readiness(cluster, edge: 2).status == 503)
            let rogue = try TestDevice(commonName: "rogue", challenge: TestCluster.staticPassword)
            #expect(try await cluster.pkiOperation(try rogue.pkcsReq(ra: cluster.ra), edge: 2).status == 503)

            // Trusting another CA: the control plane's certificate is refused.
            try await cluster.startEdge(id: "edge-wrong-ca", environment: ["SCEPTER_CONTROL_CA_PATH": tls.rogueCAPath])
            #expect(try await Self.readiness(cluster, edge: 3).status == 503)

            // Plain HTTP to the TLS listener goes nowhere.
            try await cluster.startEdge(id: "edge-plain", environment: [
                "SCEPTER_CONTROL_URL": "http://127.0.0.1:\(port)", "SCEPTER_CONTROL_CA_PATH": "", "SCEPTER_EDGE_CLIENT_CERT_PATH": "",
                "SCEPTER_EDGE_CLIENT_KEY_PATH": "",
            ])
            #expect(try await Self.readiness(cluster, edge: 4).status == 503)

            // No client variables but a listener certificate: the edge presents its own certificate (SPEC §9).
            try await tls.issueServerAndClientCertificate("edge-own")
            let own = try await cluster.startEdge(id: "edge-own-cert", environment: [
                "SCEPTER_EDGE_CLIENT_CERT_PATH": "", "SCEPTER_EDGE_CLIENT_KEY_PATH": "",
                "SCEPTER_EDGE_TLS_CERT_PATH": tls.directory.appendingPathComponent("edge-own.pem").path,
                "SCEPTER_EDGE_TLS_KEY_PATH": tls.directory.appendingPathComponent("edge-own.key").path,
            ])
            let ownReadiness = try await Self.getOverTLS(port: own.port, ca: tls.caPath, path: "/readyz")
            #expect(ownReadiness.stdout.hasPrefix("HTTP/1.1 200"), "\(ownReadiness.stdout)")
            #expect(own.log.contains("presenting this edge's listener certificate (SCEPTER_EDGE_TLS_CERT_PATH)"), "renewal needs a restart, and the log says so")
            try await own.terminate()

            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 1)
        }
    }
}
