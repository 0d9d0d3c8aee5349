import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting

/// The admin API inside `scepter dev`, on the SCEP port, behind the dev admin token (SPEC §8, §11).
@Suite("Admin API in embedded mode", .timeLimit(.minutes(5)))
struct EmbeddedAdminTests {
    static func call(
        _ harness: EmbeddedHarness, _ method: HTTPRequest.Method, _ path: String, token: String?
    ) async throws -> (HTTPResponse.Status, [String: Any]?, String) {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        let headers = fields
        let (status, body) = try await harness.test { client in
            try await client.execute(uri: path, method: method, headers: headers) { response in
                (response.status, Array(response.body.readableBytesView))
            }
        }
        return (status, (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], String(decoding: body, as: UTF8.self))
    }

    @Test(
        "A dev admin-token or challenge file left empty or short (a full disk at the first run) stops the start, naming the file",
        arguments: [("admin-token", ""), ("admin-token", "dev:\n"), ("challenge", "\n")])
    func emptyDevSecretsAreRefused(_ input: (file: String, content: String)) async throws {
        let harness = try await EmbeddedHarness.make()
        let directory = harness.server.files.directory
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/" + input.file))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(input.content.utf8))
        try handle.close()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let error = await #expect(throws: SecretFiles.Problem.self) {
            _ = try await EmbeddedServer.make(dataDir: directory, environment: [:], logger: logger, databasePath: directory + "/second.db")
        }
        #expect(error?.message.contains(directory + "/" + input.file) == true, "\(String(describing: error))")
        #expect(error?.message.contains("delete it and start again") == true)
    }

    @Test("A data directory with the database but without the CA key (a restore of scepter.db alone) is refused, not given a new CA")
    func databaseWithoutItsCAIsRefused() async throws {
        let harness = try await EmbeddedHarness.make()
        let directory = harness.server.files.directory
        try FileManager.default.removeItem(atPath: harness.server.files.caKeyPath)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let error = await #expect(throws: SecretFiles.Problem.self) {
            _ = try await EmbeddedServer.make(dataDir: directory, environment: [:], logger: logger)
        }
        #expect(error?.message.contains("ca.key is missing but \(directory)/scepter.db exists") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: harness.server.files.caKeyPath), "no new CA was made")
    }

    @Test("A data directory with a key but without its certificate names the missing certificate and what to do", arguments: ["ca", "ra"])
    func keyWithoutItsCertificateIsNamed(_ which: String) async throws {
        let harness = try await EmbeddedHarness.make()
        let directory = harness.server.files.directory
        try FileManager.default.removeItem(atPath: "\(directory)/\(which).pem")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let error = await #expect(throws: SecretFiles.Problem.self) {
            _ = try await EmbeddedServer.make(dataDir: directory, environment: [:], logger: logger)
        }
        let message = error?.message ?? ""
        #expect(message.contains("\(directory)/\(which).pem is missing but \(directory)/\(which).key exists"), "\(message)")
        #expect(message.contains(which == "ca" ? "restore it" : "delete ra.key too"), "\(message)")
        #expect(!message.contains("refusing to overwrite"))
    }

    @Test("stats and reload-trust answer the dev admin token, refuse anyone else, and see the in-process edge's anchors")
    func statsAndReload() async throws {
        let setup = try await IntuneEnrollmentTests.setup()
        let harness = setup.harness
        let token = harness.server.adminToken

        #expect(try await Self.call(harness, .get, "/api/v1/admin/scep/intune/stats", token: nil).0 == .unauthorized)
        #expect(try await Self.call(harness, .get, "/api/v1/admin/scep/intune/stats", token: "wrong").0 == .unauthorized)

        let (status, stats, text) = try await Self.call(harness, .get, "/api/v1/admin/scep/intune/stats", token: token)
        #expect(status == .ok, "\(text)")
        let corp = (stats?["profiles"] as? [[String: Any]])?.first { $0["profile"] as? String == "corp" }
        let anchors = corp?["trustAnchors"] as? [[String: Any]]
        #expect(anchors?.count == 1)
        #expect((corp?["edges"] as? [[String: Any]])?.count == 1)
        #expect(corp?["edgesInAgreement"] as? Bool == true)

        let (reloadStatus, reload, reloadText) = try await Self.call(harness, .post, "/api/v1/admin/scep/intune/reload-trust", token: token)
        #expect(reloadStatus == .ok, "\(reloadText)")
        let edges = reload?["edges"] as? [[String: Any]]
        #expect(edges?.count == 1)
        #expect(edges?.first?["status"] as? String == "reloaded")
        // The reload is audited as an admin event, not counted as a request.
        let events = try await harness.server.store.auditEvents(AuditQuery(limit: 10)).filter { $0.operation == .reloadTrust }
        #expect(events.count == 1)
        #expect(try await harness.server.store.outcomeCounts(since: nil, now: Date()).allSatisfy { $0.profile != "*" })

        // Neither takes a query parameter: one given is refused, and no reload starts.
        #expect(try await Self.call(harness, .get, "/api/v1/admin/scep/intune/stats?profile=corp", token: token).0 == .badRequest)
        let (refused, _, refusedText) = try await Self.call(harness, .post, "/api/v1/admin/scep/intune/reload-trust?wait=0", token: token)
        #expect(refused == .badRequest)
        #expect(refusedText.contains(#"unknown query parameter \"wait\""#), "\(refusedText)")
        #expect(try await harness.server.store.auditEvents(AuditQuery(limit: 10)).filter { $0.operation == .reloadTrust }.count == 1)
    }
}
