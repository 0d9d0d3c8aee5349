import Crypto
import Foundation
import Glibc
import SwiftASN1
import X509
import _CryptoExtras

/// Loads a large, realistic inventory into a Scepter PostgreSQL database
/// whose schema the control plane's migrations made: certificates over a few
/// profiles and issuers, their enrollments, revocations, and audit events
/// over 400 days. Rows are generated here as CSV and streamed through a pipe
/// into `psql`'s `COPY … FROM STDIN`.
///
/// Every row is a pure function of its index and `seed`, so the revocation
/// and enrollment passes see the same certificates the first pass wrote.
struct InventorySeeder {
    /// A profile of the seeded inventory: its issuer, its share of the rows,
    /// and whether its requests carry an Intune claim (device id, device name).
    struct Profile {
        var name: String
        var issuer: String
        var weight: Double
        var intune: Bool
    }

    /// What the seeded inventory looks like by default: the harness's own
    /// profile `default` (issuer `bench`, static challenge) and two Intune
    /// profiles, one of them on a second issuer.
    static let defaultProfiles = [
        Profile(name: "default", issuer: "bench", weight: 0.55, intune: false),
        Profile(name: "intune-wifi", issuer: "bench", weight: 0.35, intune: true),
        Profile(name: "intune-vpn", issuer: "vpn-ca", weight: 0.10, intune: true),
    ]

    /// Counts and timings of one seeding.
    struct Report {
        var rows: [(table: String, rows: Int, seconds: Double)] = []
        var analyzeSeconds = 0.0
        var totalSeconds: Double { rows.reduce(0) { $0 + $1.seconds } + analyzeSeconds }

        var table: String {
            var lines = rows.map {
                "  " + padded($0.table, 14) + String(format: " %11d rows  %7.1f s  (%.0f rows/s)", $0.rows, $0.seconds, Double($0.rows) / max($0.seconds, 1e-9))
            }
            lines.append(String(format: "  VACUUM ANALYZE                       %7.1f s", analyzeSeconds))
            lines.append(String(format: "  total                                %7.1f s", totalSeconds))
            return lines.joined(separator: "\n")
        }
    }

    var databaseURL: String
    var profiles = Self.defaultProfiles
    /// The instant the inventory is seen from: certificates are issued over the 3 years before it, audit events over 400 days.
    var now = Date()
    var seed: UInt64 = 0x5CE9_7E12

    /// Seeds `certificates` certificates (each with its enrollment), `revoked`
    /// of them revoked, and `audit` audit events, then runs VACUUM ANALYZE.
    func seed(certificates: Int, audit: Int, revoked: Int) throws -> Report {
        precondition(revoked <= certificates)
        signal(SIGPIPE, SIG_IGN)
        let der = try Self.templateDER()
        let generator = RowGenerator(profiles: profiles, now: now.timeIntervalSince1970, seed: seed, certificates: certificates, revoked: revoked, audit: audit, derHex: der)
        var report = Report()
        func load(_ table: String, columns: [String], count: Int, _ row: (Int, inout [UInt8]) -> Void) throws {
            guard count > 0 else { return }
            note("seeding \(table): \(count) rows")
            let start = Clock.monotonicSeconds()
            // A bulk load: the secondary indexes are built once afterwards, by sorting, instead of row by row.
            let indexes = try query("SELECT indexname || '|' || indexdef FROM pg_indexes WHERE tablename = '\(table)' AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%_key'")
                .split(separator: "\n").map { $0.split(separator: "|", maxSplits: 1).map(String.init) }
            // So is the primary key of a table no foreign key points to.
            let keys = try query(
                "SELECT conname || '|' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '\(table)'::regclass AND contype = 'p' AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = '\(table)'::regclass)"
            ).split(separator: "\n").map { $0.split(separator: "|", maxSplits: 1).map(String.init) }
            for index in indexes { try psql(["-c", "DROP INDEX \(index[0])"]) }
            for key in keys { try psql(["-c", "ALTER TABLE \(table) DROP CONSTRAINT \(key[0])"]) }
            try copy(table, columns: columns, count: count, row)
            for key in keys { try psql(["-c", "SET maintenance_work_mem = '512MB'; ALTER TABLE \(table) ADD CONSTRAINT \(key[0]) \(key[1])"]) }
            for index in indexes { try psql(["-c", "SET maintenance_work_mem = '512MB'; \(index[1])"]) }
            report.rows.append((table, count, Clock.monotonicSeconds() - start))
            note(String(format: "seeded %@ in %.1f s (COPY and index builds)", table, report.rows.last!.seconds))
        }
        try load("certificates", columns: RowGenerator.certificateColumns, count: certificates) { generator.certificate($0, into: &$1) }
        try load("enrollments", columns: RowGenerator.enrollmentColumns, count: certificates) { generator.enrollment($0, into: &$1) }
        try load("revocations", columns: RowGenerator.revocationColumns, count: revoked) { generator.revocation($0, into: &$1) }
        try load("audit_events", columns: RowGenerator.auditColumns, count: audit) { generator.audit($0, into: &$1) }
        let start = Clock.monotonicSeconds()
        // As autovacuum leaves a long-lived table: statistics, and a visibility map for index-only scans.
        for table in ["certificates", "enrollments", "revocations", "audit_events"] { try psql(["-c", "VACUUM ANALYZE \(table)"]) }
        report.analyzeSeconds = Clock.monotonicSeconds() - start
        return report
    }

    /// One `COPY table FROM STDIN (FORMAT csv)`, the rows written into psql's standard input 1 MiB at a time.
    private func copy(_ table: String, columns: [String], count: Int, _ row: (Int, inout [UInt8]) -> Void) throws {
        let columnList = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [databaseURL, "-q", "-v", "ON_ERROR_STOP=1", "-c", "COPY \(table) (\(columnList)) FROM STDIN (FORMAT csv)"]
        let input = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-seed-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let errorHandle = try FileHandle(forWritingTo: errors)
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        try process.run()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 21)
        var failure: (any Error)?
        for index in 0..<count {
            row(index, &buffer)
            if buffer.count >= 1 << 20 {
                do { try input.fileHandleForWriting.write(contentsOf: buffer) } catch { failure = error; break }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if failure == nil, !buffer.isEmpty {
            do { try input.fileHandleForWriting.write(contentsOf: buffer) } catch { failure = error }
        }
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0, failure == nil else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw BenchError("COPY \(table) into \(databaseURL) failed: \(message.isEmpty ? "\(failure.map { "\($0)" } ?? "psql exited \(process.terminationStatus)")" : message)")
        }
    }

    /// The rows of `sql`, unaligned, one a line.
    func query(_ sql: String) throws -> String { try InventoryProbe.query(databaseURL, sql) }

    func psql(_ arguments: [String]) throws {
        try ClusterUnderTest.run("/usr/bin/psql", [databaseURL, "-q", "-v", "ON_ERROR_STOP=1"] + arguments)
    }

    /// The DER of an RSA-2048 device certificate with SANs, about the size
    /// Scepter issues, as `\x…` hex: every seeded row carries it, so the
    /// table is as large on disk as a real one.
    static func templateDER() throws -> [UInt8] {
        let key = Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        let subject = try DistinguishedName {
            CountryName("US")
            OrganizationName("Example Corp")
            CommonName("DESKTOP-7Q2M4KD.corp.example.com")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: now, notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.clientAuth])
                SubjectAlternativeNames([.dnsName("desktop-7q2m4kd.corp.example.com"), .rfc822Name("device@corp.example.com")])
            },
            issuerPrivateKey: key)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return Array("\\x".utf8) + serializer.serializedBytes.flatMap { byte in [hexDigit(byte >> 4), hexDigit(byte & 15)] }
    }
}

/// `text` left-aligned in `width` columns.
func padded(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

@inline(__always) func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 87 + nibble }
