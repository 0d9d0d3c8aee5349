import Foundation
import Testing
import ScepterTesting

/// `scepter dev` whose disk fills up: nothing is issued that is not
/// recorded, the client is told to retry, the server keeps serving and
/// recovers by itself once there is room, and the database stays whole.
@Suite("Interop: a real process whose disk is full", .timeLimit(.minutes(2)))
struct DiskFullTests {
    struct Report: Decodable {
        var before: InteropClient.Report
        var freeBytesWhileFull: Int
        var full: [InteropClient.Report]
        var capsWhileFull: Int
        var after: InteropClient.Report
        var exitStatus: Int
        var integrity: String
        var certificates: [String]
        var auditedSerials: [String]
        var log: String
    }

    @Test("A full disk: each attempt is a 503 or a certificate stored and audited; freed, the next enrollment issues; the database is intact")
    func fullDiskRefusesAndRecovers() async throws {
        try await InteropClient.ensureBuilt()
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Interop/abuse/disk_full.py").path
        // A mount namespace of its own, so a small tmpfs needs no privilege.
        let run = try await Shell.run("/usr/bin/unshare", ["-rm", "/usr/bin/python3", script, DevServerProcess.binary, InteropClient.binary])
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let report = try decoder.decode(Report.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))

        #expect(report.before.pkiStatus == "SUCCESS")
        #expect(report.freeBytesWhileFull == 0)
        // SQLite may still fit a commit into WAL pages it reuses, so an attempt may go through; one that does not is a 503.
        for answer in report.full {
            #expect(answer.pkiStatus == "SUCCESS" || (answer.httpStatus == 503 && answer.pkiStatus == nil), "while full: \(answer)\n\(report.log)")
        }
        #expect(report.full.contains { $0.httpStatus == 503 }, "the full disk was never met:\n\(report.log)")
        #expect(report.capsWhileFull == 200)
        #expect(report.after.pkiStatus == "SUCCESS", "after freeing: \(report.after)\n\(report.log)")
        #expect(report.exitStatus == 0)
        #expect(report.integrity == "ok")
        // Every certificate a client got is stored, and every stored one has an audit record (its provisional row at least).
        let handedOut = Set(([report.before, report.after] + report.full).filter { $0.pkiStatus == "SUCCESS" }.compactMap { $0.serial?.lowercased() })
        let stored = Set(report.certificates.map { $0.lowercased() })
        #expect(handedOut.count >= 2 && handedOut.isSubset(of: stored), "stored \(stored), handed out \(handedOut)")
        #expect(stored.isSubset(of: Set(report.auditedSerials.map { $0.lowercased() })), "stored \(stored), audited \(report.auditedSerials)")
        #expect(report.log.contains("database or disk is full"), "the log names the cause:\n\(report.log)")
    }
}
