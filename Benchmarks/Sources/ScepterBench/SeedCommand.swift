import ArgumentParser
import Foundation

/// How large a seeded inventory is.
struct SeedSizes: ParsableArguments {
    @Option(help: "Certificates to seed (each with its enrollment).")
    var certificates = 1_000_000

    @Option(help: "Audit events to seed, spread over 400 days.")
    var audit = 10_000_000

    @Option(help: "Of the certificates, how many are revoked (default: one in ten; 90 % of them are issuer bench's).")
    var revoked: Int?

    var revokedCount: Int { revoked ?? certificates / 10 }

    func validate() throws {
        guard certificates >= 0, audit >= 0, revokedCount >= 0, revokedCount <= certificates else {
            throw ValidationError("--certificates and --audit must be >= 0, --revoked between 0 and --certificates")
        }
    }
}

/// `scepter-bench seed`: loads a large inventory into a PostgreSQL database
/// through COPY. The schema comes from Scepter's own migrations: the control
/// plane is started once against the database first.
struct SeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Seed a Scepter PostgreSQL database with certificates, enrollments, revocations and audit events (COPY).",
        discussion: """
            Starts `scepter control` against --database once so its migrations create the schema, then streams generated \
            CSV into psql's COPY. Rows: profiles default and intune-wifi (issuer bench) and intune-vpn (issuer vpn-ca), \
            certificates over 3 years (a year's validity each, some superseded by renewals, --revoked revoked), one \
            enrollment per certificate, audit events over 400 days with the real outcome labels (mostly success).
            """)

    @Option(help: "The database to load (postgres://user@host:port/name); it must exist.")
    var database: String

    @OptionGroup var sizes: SeedSizes

    @Option(help: "Path of the release scepter binary (default: .build-release/release/scepter of the repository).")
    var binary: String?

    func run() throws {
        let binary = try ScepterBinary.resolve(binary)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-seed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        note("migrating \(database) (scepter control, started once)")
        try ControlPlaneProcess.migrate(binary: binary, directory: directory, databaseURL: database)
        let report = try InventorySeeder(databaseURL: database).seed(certificates: sizes.certificates, audit: sizes.audit, revoked: sizes.revokedCount)
        print("Seeded \(database)\n" + report.table)
    }
}

enum ScepterBinary {
    /// `path`, or the repository's release build (from the root or from Benchmarks/).
    static func resolve(_ path: String?) throws -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let candidates = path.map { [$0] } ?? [cwd + "/.build-release/release/scepter", cwd + "/../.build-release/release/scepter"]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate).standardizedFileURL.path
        }
        throw BenchError(
            "no scepter binary at \(candidates.joined(separator: " or ")); build it with "
                + "`swift build -c release --product scepter --scratch-path .build-release` or pass --binary")
    }
}

extension ControlPlaneProcess {
    /// Runs the control plane's migrations on `databaseURL`: starts it until
    /// it listens and has built the online indexes it builds after
    /// starting (`OnlineIndexBuilder`; on the empty tables, at once), then
    /// stops it. The seeder then rebuilds every index after its COPY, those
    /// included, so none is built while a probe measures.
    static func migrate(binary: String, directory: String, databaseURL: String) throws {
        let control = try ControlPlaneProcess(binary: binary, directory: directory, databaseURL: databaseURL, cpu: nil)
        let built = "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE (c.relname LIKE 'certificates_%_trgm' OR c.relname = 'certificates_issuer') AND i.indisvalid"
        let deadline = Date().addingTimeInterval(30)
        while try InventoryProbe.query(databaseURL, built).trimmingCharacters(in: .whitespacesAndNewlines) != "3" {
            guard Date() < deadline else {
                control.stop()
                throw BenchError("the control plane did not build the online indexes within 30 s (is pg_trgm installed? its log: \(directory)/control.log)")
            }
            usleep(50_000)
        }
        control.stop()
    }
}
