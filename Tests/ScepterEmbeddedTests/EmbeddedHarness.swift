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
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try await EmbeddedServer.make(dataDir: directory.path, environment: environment, logger: logger)
        let raPEM = try String(contentsOfFile: server.files.raCertificatePath, encoding: .utf8)
        let ra = try #require(PEM.firstBlock(in: raPEM, label: "CERTIFICATE"))
        return EmbeddedHarness(server: server, ra: ra, caPEM: try String(contentsOfFile: server.files.caCertificatePath, encoding: .utf8))
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
