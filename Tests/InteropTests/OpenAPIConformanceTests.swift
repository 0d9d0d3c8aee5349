import Foundation
import Testing
import ScepterTesting

/// The admin API against the OpenAPI document it serves, with tools nobody
/// here wrote: openapi-spec-validator on the document, schemathesis
/// generating requests against a real `scepter dev` (Tests/OpenAPI/check.sh).
@Suite("Interop: the admin API conforms to its OpenAPI document", .timeLimit(.minutes(10)))
struct OpenAPIConformanceTests {
    @Test("openapi-spec-validator accepts the document; schemathesis finds no 5xx and no undocumented answer, as admin and as viewer")
    func schemathesis() async throws {
        try await InteropClient.ensureBuilt()
        let viewer = "viewer-\(UUID().uuidString)"
        let server = try await DevServerProcess.start(environment: ["SCEPTER_VIEWER_TOKENS": "auditor:\(viewer)"])
        defer { server.terminate() }
        // Something to find: two certificates.
        for name in ["openapi-1", "openapi-2"] {
            let run = try await InteropClient.run(["-url", server.scepURL, "-challenge", server.challenge, "-cn", name, "-dns", "\(name).example.com"])
            #expect(run.report?.pkiStatus == "SUCCESS", "\(run.stderr)")
        }
        let adminToken = try String(contentsOf: server.dataDirectory.appendingPathComponent("admin-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/OpenAPI/check.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_URL"] = "http://127.0.0.1:\(server.port)"
        environment["SCEPTER_ADMIN_TOKEN"] = adminToken
        environment["SCEPTER_VIEWER_TOKEN"] = viewer
        // On a thread of its own: the check takes tens of seconds, and the cooperative pool has two threads.
        let result = try await Shell.run("/bin/bash", [script], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("== PASSED"), "\(result.stdout)")
    }
}
