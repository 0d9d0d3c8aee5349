import Foundation
import Testing
import ScepterTesting

/// A real `scepter dev` with no file descriptor to spare: enrollments over
/// a connection it already holds still issue, and each keeps its own audit
/// record. Foundation's `UUID()` needs a descriptor for /dev/urandom and,
/// without one, returns the same all-zero id every time: audit events share
/// an id and all but the first are dropped as already recorded.
@Suite("Interop: a real process without a free file descriptor", .timeLimit(.minutes(2)))
struct DescriptorExhaustionTests {
    struct Run: Decodable {
        var limit: Int
        var reports: [InteropClient.Report]
    }

    @Test("Every enrollment made while no descriptor is free issues and is audited under its own id")
    func everyEnrollmentIsAuditedWithoutAFreeDescriptor() async throws {
        try await InteropClient.ensureBuilt()
        // Idle connections must stay open for the whole run: the request timeout would free descriptors.
        let server = try await DevServerProcess.start(environment: ["SCEPTER_REQUEST_TIMEOUT": "120s"])
        defer { server.terminate() }
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Interop/abuse/exhaust_descriptors.py").path
        let run = try await Shell.run("/usr/bin/python3", [
            script, "\(server.process.processIdentifier)", "\(server.port)", InteropClient.binary, server.challenge, "3", "6",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try JSONDecoder().decode(Run.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
        let serials = result.reports.compactMap(\.serial)
        #expect(result.reports.allSatisfy { $0.pkiStatus == "SUCCESS" } && serials.count == 3, "\(run.stdout)\n\(run.stderr)")

        // The server serves again once descriptors are free, and its audit log holds one record per enrollment.
        let (status, body) = try await server.request(
            "/api/v1/audit?operation=PKIOperation&limit=100", headers: ["Authorization": "Bearer \(try server.adminToken)"])
        try #require(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let page = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let items = try #require(page["items"] as? [[String: Any]])
        let audited = items.filter { ($0["csrSubject"] as? String)?.contains("exhausted-") == true }
        let ids = Set(audited.compactMap { $0["id"] as? String })
        #expect(audited.count == 3 && ids.count == 3, "audit records of the three enrollments: \(audited)")
        #expect(!ids.contains("00000000-0000-4000-8000-000000000000"))
        let auditedSerials = Set(audited.compactMap { $0["serialNumber"] as? String }.map { $0.lowercased() })
        #expect(auditedSerials == Set(serials.map { $0.lowercased() }), "audited \(auditedSerials), issued \(serials)")
    }
}
