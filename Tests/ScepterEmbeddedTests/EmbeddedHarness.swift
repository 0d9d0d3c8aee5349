import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import Testing
import X509

/// Embedded mode in process, driven over HTTP by HummingbirdTesting.
// @unchecked: the router is built once and only read while requests run.
struct EmbeddedHarness: @unchecked Sendable {
    let server: EmbeddedServer
    let ra: [UInt8]
    let caPEM: String

    static func make(environment: [String: String] = [:]) async throws -> EmbeddedHarness {
        let directory = try Shell.temporaryDirectory()
        try await Self.copyDevelopmentPKI(to: directory)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try await EmbeddedServer.make(dataDir: directory.path, environment: environment, logger: logger)
        let raPEM = try String(contentsOfFile: server.files.raCertificatePath, encoding: .utf8)
        let ra = try #require(PEM.firstBlock(in: raPEM, label: "CERTIFICATE"))
        return EmbeddedHarness(server: server, ra: ra, caPEM: try String(contentsOfFile: server.files.caCertificatePath, encoding: .utf8))
    }

    /// The development CA and RA, made once per test run on a thread of its
    /// own and copied into each harness's data directory: making them is an
    /// RSA-3072 key generation, seconds of CPU in a debug build, and two dozen
    /// harnesses doing it on the cooperative pool held up every other test.
    private static let developmentPKI = Task {
        try await Shell.offPool { try DevelopmentFiles.prepare(in: Shell.temporaryDirectory().path) }
    }

    private static func copyDevelopmentPKI(to directory: URL) async throws {
        let source = try await developmentPKI.value
        let files = DevelopmentFiles(directory: directory.path)
        for (from, to, mode) in [
            (source.caCertificatePath, files.caCertificatePath, 0o644), (source.caKeyPath, files.caKeyPath, 0o600),
            (source.raCertificatePath, files.raCertificatePath, 0o644), (source.raKeyPath, files.raKeyPath, 0o600),
        ] {
            try FileManager.default.copyItem(atPath: from, toPath: to)
            try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: to)
        }
    }

    /// Runs `body` against the router.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = Application(router: server.router)
        return try await app.test(.router) { client in try await body(client) }
    }

    var caCertificate: Certificate {
        get throws { try Certificate(pemEncoded: caPEM) }
    }

    func auditCount(_ query: AuditQuery = AuditQuery(limit: 10_000)) async throws -> Int {
        try await server.store.auditEvents(query).count
    }
}

extension TestClientProtocol {
    /// POSTs a PKIMessage and returns the HTTP status and body.
    func pkiOperation(_ message: [UInt8], profile: String) async throws -> (HTTPResponse.Status, [UInt8]) {
        try await pkiOperation(message, path: "/scep/\(profile)")
    }

    /// POSTs a PKIMessage and returns the HTTP status and body.
    func pkiOperation(_ message: [UInt8], path: String = "/scep", contentType: String = "application/x-pki-message") async throws
        -> (HTTPResponse.Status, [UInt8])
    {
        try await execute(
            uri: "\(path)?operation=PKIOperation", method: .post, headers: [.contentType: contentType],
            body: ByteBuffer(bytes: message)
        ) { response in
            (response.status, Array(response.body.readableBytesView))
        }
    }
}
