import Foundation
import Logging
import PostgresNIO
import Testing
import ScepterProtocol
@testable import ScepterControl

/// Migration 5's indexes exist after migrating, and the admin API's reads
/// that a large inventory makes slow without them are planned with them
/// (plans on a seeded database: Benchmarks/README.md).
@Suite("Inventory indexes", .timeLimit(.minutes(5)))
struct InventoryIndexTests {
    /// A read the admin API runs, as `SQLStore` writes it, and the indexes its plan must name.
    struct Read: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String
        var indexes: [String]
        /// Whether SQLite plans it with the index too: without statistics (embedded mode runs no ANALYZE) it may prefer another.
        var sqlite = true
        /// Prices out plain index scans too: on an empty table PostgreSQL walks `certificates_created` and filters, which on a large one reads the table.
        var bitmapOnly = false
        /// An index PostgreSQL may pick instead on an empty table, which answers the read from the index alone as well.
        var postgresAlternative: String?
        var testDescription: String { name }
    }

    static let reads = [
        Read(name: "certificates newest first", sql: "SELECT serial FROM certificates ORDER BY created_at DESC, serial ASC LIMIT 51", indexes: ["certificates_created"]),
        Read(
            name: "active certificates counted",
            sql: "SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= '2026-01-01T00:00:00.000Z'",
            indexes: ["certificates_status_not_after"], postgresAlternative: "certificates_status_created"),
        Read(
            name: "a certificate's audit events by transaction",
            sql: #"SELECT id FROM audit_events WHERE transaction_id = 'tx-1' ORDER BY "time" DESC, id LIMIT 100"#, indexes: ["audit_events_transaction"]),
        Read(
            name: "a certificate's audit events by serial", sql: #"SELECT id FROM audit_events WHERE serial = '4a01' ORDER BY "time" DESC, id LIMIT 100"#,
            indexes: ["audit_events_serial"]),
        Read(
            name: "audit events of a device",
            sql: #"SELECT id FROM audit_events WHERE (device_name = 'LAPTOP-42' OR claim_sub = 'LAPTOP-42') ORDER BY "time" DESC, id LIMIT 101"#,
            indexes: ["audit_events_device_name", "audit_events_claim_sub"]),
        Read(
            name: "audit events of a profile and outcome",
            sql: #"SELECT id FROM audit_events WHERE profile = 'corp' AND outcome = 'replay' ORDER BY "time" DESC, id LIMIT 101"#,
            indexes: ["audit_events_outcome"]),
        Read(
            name: "the stats' counts of the last day",
            sql: #"SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = 'PKIOperation' AND "time" >= '2026-01-01T00:00:00.000Z' GROUP BY profile, outcome"#,
            indexes: ["audit_events_time"], sqlite: false),
        Read(
            name: "expired certificates newest first",
            sql: "SELECT serial FROM certificates WHERE status = 'active' AND not_after < '2026-01-01T00:00:00.000Z' ORDER BY created_at DESC, serial ASC LIMIT 51",
            indexes: ["certificates_status_created"], sqlite: false),
        Read(
            name: "certificates by text (PostgreSQL's trigram indexes)",
            sql: #"SELECT serial FROM certificates WHERE (lower(subject) LIKE '%laptop-42%' ESCAPE '\' OR lower(sans) LIKE '%laptop-42%' ESCAPE '\') ORDER BY created_at DESC, serial ASC LIMIT 51"#,
            indexes: ["certificates_subject_trgm", "certificates_sans_trgm"], sqlite: false, bitmapOnly: true),
        Read(
            name: "certificates of a device (PostgreSQL's trigram index)",
            sql: #"SELECT serial FROM certificates WHERE (device_id = 'laptop-42' OR lower(subject) LIKE '%laptop-42%' ESCAPE '\') ORDER BY created_at DESC, serial ASC LIMIT 51"#,
            indexes: ["certificates_device", "certificates_subject_trgm"], sqlite: false, bitmapOnly: true),
        Read(
            name: "an issuer's unexpired certificates (the issuers' counts)",
            sql: "SELECT count(*) AS unexpired, max(not_after) AS last_expiry FROM certificates WHERE issuer = 'corp' AND not_after > '2026-01-01T00:00:00.000Z'",
            indexes: ["certificates_issuer"]),
        Read(
            name: "the next issuer name (the issuers' hop)", sql: "SELECT min(issuer) FROM certificates WHERE issuer > 'corp'",
            indexes: ["certificates_issuer"]),
        Read(
            name: "the CRL's revocation stamp", sql: "SELECT count(*) AS n, max(revoked_at) AS latest FROM revocations WHERE issuer = 'bench'",
            indexes: ["revocations_issuer"]),
    ]

    static let migrationIndexes = [
        "certificates_created", "certificates_status_not_after", "audit_events_transaction", "audit_events_serial", "audit_events_claim_sub",
        "audit_events_device_name", "audit_events_outcome", "revocations_issuer", "certificates_status_created",
    ]

    @Test("SQLite: migration 5 creates the indexes and the rollup table, and drops the index it replaces")
    func sqliteMigration() async throws {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        let names = try await store.run("test") { sql in
            try await sql.run("SELECT name FROM sqlite_master WHERE type IN ('index', 'table')").map { try $0.text("name") ?? "" }
        }
        try await store.close()
        for index in Self.migrationIndexes + ["audit_daily_outcomes"] { #expect(names.contains(index), "\(index) missing") }
        #expect(!names.contains("audit_events_profile_outcome"))
    }

    @Test("SQLite: the admin API's reads use the indexes", arguments: reads.filter(\.sqlite))
    func sqlitePlans(_ read: Read) async throws {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        let plan = try await store.run("test") { sql in
            try await sql.run("EXPLAIN QUERY PLAN " + read.sql).map { try $0.text("detail") ?? "" }.joined(separator: "\n")
        }
        try await store.close()
        for index in read.indexes { #expect(plan.contains(index), "\(read.name): plan does not use \(index):\n\(plan)") }
    }

    @Test("PostgreSQL: migration 5 creates the indexes and the rollup table, and drops the index it replaces")
    func postgresMigration() async throws {
        try await PostgresTestDatabase.withStore { store, database in
            try await store.migrate()
            let list = Self.migrationIndexes.map { "'\($0)'" }.joined(separator: ", ")
            #expect(try await database.scalar("SELECT count(*) FROM pg_indexes WHERE indexname IN (\(unescaped: list))") == Self.migrationIndexes.count)
            #expect(try await database.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_events_profile_outcome'") == 0)
            #expect(try await database.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_daily_outcomes'") == 1)
        }
    }

    static let trigramIndexes: PostgresQuery =
        "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('certificates_subject_trgm', 'certificates_sans_trgm') AND i.indisvalid"

    @Test("PostgreSQL: the text search indexes are built after the migrations, once; another replica holding the lock leaves them to it")
    func postgresTextSearchIndexes() async throws {
        try await PostgresTestDatabase.withStore { store, database in
            try await store.migrate()
            #expect(try await database.scalar(Self.trigramIndexes) == 0)
            // Another replica building: this one leaves it.
            let other = try await database.connect()
            _ = try await other.query("SELECT pg_advisory_lock(\(PostgresStore.onlineIndexLock))", logger: ControlFixtures.logger)
            #expect(await store.buildOnlineIndexes() == .buildingElsewhere)
            try await other.close()
            #expect(await store.buildOnlineIndexes() == .built(["certificates_issuer", "certificates_sans_trgm", "certificates_subject_trgm"]))
            #expect(try await database.scalar(Self.trigramIndexes) == 2)
            #expect(await store.buildOnlineIndexes() == .present)
        }
    }

    @Test("PostgreSQL: an index an interrupted build left invalid is dropped and built again")
    func postgresInvalidTextSearchIndex() async throws {
        try await PostgresTestDatabase.withStore { store, database in
            try await store.migrate()
            let connection = try await database.connect()
            for serial in ["01", "02"] {
                try await connection.query(
                    """
                    INSERT INTO certificates (serial, issuer, profile, subject, sans, not_before, not_after, status, transaction_id, der, created_at)
                    VALUES (\(serial), 'dev', 'default', 'CN=twin', '', now(), now(), 'active', \(serial), '\\x00', now())
                    """, logger: ControlFixtures.logger)
            }
            // A concurrent build that fails (here: a unique index over duplicate subjects) leaves its index behind, invalid.
            await #expect(throws: (any Error).self) {
                try await connection.query(
                    "CREATE UNIQUE INDEX CONCURRENTLY certificates_subject_trgm ON certificates (subject)", logger: ControlFixtures.logger)
            }
            try await connection.close()
            #expect(
                try await database.scalar(
                    "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'certificates_subject_trgm' AND NOT i.indisvalid")
                    == 1)
            #expect(await store.buildOnlineIndexes() == .built(["certificates_issuer", "certificates_sans_trgm", "certificates_subject_trgm"]))
            #expect(try await database.scalar(Self.trigramIndexes) == 2)
            #expect(try await database.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'certificates_subject_trgm' AND indexdef LIKE '%gin_trgm_ops%'") == 1)
        }
    }

    @Test("PostgreSQL: a user that may not create pg_trgm gets a warning naming the fix; a later start builds the indexes")
    func postgresWithoutTrigramExtension() async throws {
        let extensions = "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"
        try await PostgresTestDatabase.withStore { _, database in
            // pg_trgm is a trusted extension: the database's CREATE privilege is what creating it needs.
            try await PostgresTestDatabase.administer(database.configuration, "REVOKE CREATE ON DATABASE \(unescaped: database.name) FROM PUBLIC, CURRENT_USER")
            let warnings = RecordedWarnings()
            let restricted = PostgresStore(configuration: database.configuration, logger: Logger(label: "test") { _ in warnings })
            try await restricted.migrate()
            guard case .extensionUnavailable = await restricted.buildOnlineIndexes() else {
                Issue.record("the build did not report the missing extension")
                return
            }
            #expect(try await database.scalar(Self.trigramIndexes) == 0)
            #expect(try await database.scalar(PostgresQuery(unsafeSQL: extensions)) == 0)
            let warning = try #require(warnings.messages.first)
            #expect(warning.contains("CREATE EXTENSION pg_trgm in database \(database.name)"), "\(warning)")
            #expect(warning.contains("permission denied"), "\(warning)")

            try await PostgresTestDatabase.administer(database.configuration, "GRANT CREATE ON DATABASE \(unescaped: database.name) TO CURRENT_USER")
            let later = PostgresStore(configuration: database.configuration, logger: ControlFixtures.logger)
            #expect(await later.buildOnlineIndexes() == .built(["certificates_sans_trgm", "certificates_subject_trgm"]))
            #expect(try await database.scalar(Self.trigramIndexes) == 2)
        }
    }

    /// Sequential scans are priced out, so the plan shows whether an index can serve the read at all (an empty table has no statistics).
    @Test("PostgreSQL: the admin API's reads can use the indexes", arguments: reads)
    func postgresPlans(_ read: Read) async throws {
        try await PostgresTestDatabase.withStore { store, _ in
            try await store.migrate()
            _ = await store.buildOnlineIndexes()
            let plan = try await store.transaction("test") { sql in
                try await sql.run("SET LOCAL enable_seqscan = off")
                if read.bitmapOnly { try await sql.run("SET LOCAL enable_indexscan = off") }
                return try await sql.run("EXPLAIN " + read.sql).map { try $0.text("QUERY PLAN") ?? "" }.joined(separator: "\n")
            }
            for index in read.indexes {
                #expect(plan.contains(index) || read.postgresAlternative.map(plan.contains) == true, "\(read.name): plan does not use \(index):\n\(plan)")
            }
        }
    }
}


/// The warnings a store logs, for a test to read.
final class RecordedWarnings: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning
    var messages: [String] { lock.withLock { recorded } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { recorded.append(event.message.description) }
    }
}
