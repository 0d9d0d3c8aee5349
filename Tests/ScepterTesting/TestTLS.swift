import Foundation

/// TLS material for tests, made with the `openssl` command line: a CA, a
/// server certificate for 127.0.0.1 and localhost, a client certificate
/// from that CA, and a rogue CA with a client certificate of its own.
/// Keys are written owner-only, as Scepter requires.
public struct TestTLS: Sendable {
    public let directory: URL
    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    public var caPath: String { path("ca.pem") }
    public var serverCertificatePath: String { path("server.pem") }
    public var serverKeyPath: String { path("server.key") }
    public var clientCertificatePath: String { path("client.pem") }
    public var clientKeyPath: String { path("client.key") }
    public var rogueCAPath: String { path("rogue-ca.pem") }
    public var rogueClientCertificatePath: String { path("rogue-client.pem") }
    public var rogueClientKeyPath: String { path("rogue-client.key") }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    public static func make() async throws -> TestTLS {
        let tls = TestTLS(directory: try Shell.temporaryDirectory())
        try await tls.makeCA("ca", name: "Scepter Test TLS CA")
        try await tls.makeCA("rogue-ca", name: "Rogue TLS CA")
        try await tls.makeLeaf("server", ca: "ca", subject: "/CN=localhost", extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
        try await tls.makeLeaf("client", ca: "ca", subject: "/CN=edge-tls", extensions: "extendedKeyUsage=clientAuth")
        try await tls.makeLeaf("rogue-client", ca: "rogue-ca", subject: "/CN=edge-rogue", extensions: "extendedKeyUsage=clientAuth")
        return tls
    }

    /// On a thread of its own: key generation must not hold a cooperative thread.
    private func run(_ arguments: [String]) async throws {
        let result = try await Shell.run("/usr/bin/openssl", arguments)
        guard result.status == 0 else { throw Failed(description: "openssl \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    private func makeCA(_ name: String, name subject: String) async throws {
        try await run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).pem"), "-days", "30", "-subj", "/CN=\(subject)", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("\(name).key"))
    }

    /// Another server certificate for 127.0.0.1 and localhost from the same CA, as `<name>.pem` and `<name>.key`.
    public func issueServerCertificate(_ name: String, days: Int = 30) async throws {
        try await makeLeaf(
            name, ca: "ca", subject: "/CN=localhost", extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth", days: days)
    }

    /// A certificate for both ends, as `<name>.pem` and `<name>.key`: an edge's
    /// listener certificate that it also presents to the control plane.
    public func issueServerAndClientCertificate(_ name: String) async throws {
        try await makeLeaf(
            name, ca: "ca", subject: "/CN=localhost",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth")
    }

    private func makeLeaf(_ name: String, ca: String, subject: String, extensions: String, days: Int = 30) async throws {
        try await run([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", subject,
        ])
        try extensions.write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try await run([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"), "-CAcreateserial",
            "-days", "\(days)", "-out", path("\(name).pem"), "-extfile", path("\(name).ext"),
        ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("\(name).key"))
    }
}
