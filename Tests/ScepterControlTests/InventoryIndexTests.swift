import Foundation
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
        var testDescription: String { name }
    }

    static let reads = [
        Read(name: "certificates newest first", sql: "SELECT serial FROM certificates ORDER BY created_at DESC, serial ASC LIMIT 51", indexes: ["certificates_created"]),
        Read(
            name: "active certificates counted",
            sql: "SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= '2026-01-01T00:00:00.000Z'",
            indexes: ["certificates_status_not_after"]),
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
            name: "the CRL's revocation stamp", sql: "SELECT count(*) AS n, max(revoked_at) AS latest FROM revocations WHERE issuer = 'bench'",
            indexes: ["revocations_issuer"]),
    ]

    static let migrationIndexes = [
        "certificates_created", "certificates_status_not_after", "audit_events_transaction", "audit_events_serial", "audit_events_claim_sub",
        "audit_events_device_name", "audit_events_outcome", "revocations_issuer",
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

    /// Sequential scans are priced out, so the plan shows whether an index can serve the read at all (an empty table has no statistics).
    @Test("PostgreSQL: the admin API's reads can use the indexes", arguments: reads)
    func postgresPlans(_ read: Read) async throws {
        try await PostgresTestDatabase.withStore { store, _ in
            try await store.migrate()
            let plan = try await store.transaction("test") { sql in
                try await sql.run("SET LOCAL enable_seqscan = off")
                return try await sql.run("EXPLAIN " + read.sql).map { try $0.text("QUERY PLAN") ?? "" }.joined(separator: "\n")
            }
            for index in read.indexes { #expect(plan.contains(index), "\(read.name): plan does not use \(index):\n\(plan)") }
        }
    }
}
