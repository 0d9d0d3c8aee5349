import Foundation
import Testing
import ScepterProtocol
@testable import ScepterControl

/// The edge's audit event replaces the provisional row the control plane
/// committed with the certificate without rewriting the audit table's
/// indexes, when the two agree on every indexed column (the usual case: the
/// edge sends its event's time with the request). The stored result is the
/// same either way (`ControlStoreContract.provisionalAuditReplaced`); these
/// tests show which path each engine takes.
@Suite("Audit replacement in place", .timeLimit(.minutes(3)))
struct AuditReplacementTests {
    typealias Contract = ControlStoreContract

    /// The certificate with its provisional audit row, as `IssuanceService` commits it.
    static func commitProvisional(_ store: any ControlStore, id: String) async throws {
        var provisional = Contract.event(id: id, at: 0, details: "recorded by the control plane")
        provisional.latencyMilliseconds = 0
        provisional.serialNumber = serial(id)
        try await store.commitIssued(
            Contract.certificate(serial: serial(id), transactionID: "tx-\(id)"),
            enrollment: Contract.issuedEnrollment(serial: serial(id), transactionID: "tx-\(id)"), audit: provisional)
    }

    /// A serial number of the request's own.
    static func serial(_ id: String) -> String { String(id.utf8.reduce(0x4a00) { $0 &* 31 &+ Int($1) } & 0xffff_ffff, radix: 16) }

    /// The edge's event for the request `commitProvisional` recorded.
    static func edgeEvent(id: String, at offset: TimeInterval = 0, outcome: Outcome = .success) -> AuditEvent {
        var event = Contract.event(id: id, outcome: outcome, at: offset, details: "the edge's event")
        event.sourceAddress = "198.51.100.10"
        if outcome == .success { event.serialNumber = serial(id) }
        return event
    }

    @Test("SQLite: Schema.auditIndexedColumns are exactly the columns of the audit table's indexes")
    func sqliteIndexedColumns() async throws {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        let columns = try await store.run("test") { sql in
            try await sql.run(
                """
                SELECT DISTINCT info.name AS name FROM pragma_index_list('audit_events') AS list, pragma_index_info(list.name) AS info
                WHERE list.origin = 'c'
                """
            ).map { try $0.text("name") ?? "" }
        }
        try await store.close()
        #expect(Set(columns) == Schema.auditIndexedColumns)
    }

    @Test("PostgreSQL: Schema.auditIndexedColumns are exactly the columns of the audit table's indexes")
    func postgresIndexedColumns() async throws {
        try await PostgresTestDatabase.withStore { store, _ in
            try await store.migrate()
            let columns = try await store.run("test") { sql in
                try await sql.run(
                    """
                    SELECT DISTINCT a.attname::text AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                    WHERE i.indrelid = 'audit_events'::regclass AND NOT i.indisprimary
                    """
                ).map { try $0.text("name") ?? "" }
            }
            #expect(Set(columns) == Schema.auditIndexedColumns)
        }
    }

    @Test("SQLite: an agreeing event is replaced by the in-place statement; another time or outcome is left to the upsert")
    func sqliteInPlace() async throws {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        for id in ["agrees", "later", "unavailable"] { try await Self.commitProvisional(store, id: id) }
        let replaced = try await store.transaction("test") { sql in
            var replaced: [String] = []
            for event in [Self.edgeEvent(id: "agrees"), Self.edgeEvent(id: "later", at: 0.5), Self.edgeEvent(id: "unavailable", outcome: .unavailable)] {
                replaced += try await sql.run(SQLiteStore.inPlaceReplacement(event)).map { try $0.text("id") ?? "" }
            }
            return replaced
        }
        #expect(replaced == ["agrees"])
        // The upsert then replaces the other two, and the in-place statement never touches a row twice.
        try await store.insertAudit([Self.edgeEvent(id: "later", at: 0.5), Self.edgeEvent(id: "unavailable", outcome: .unavailable)])
        let again = try await store.run("test") { sql in try await sql.run(SQLiteStore.inPlaceReplacement(Self.edgeEvent(id: "agrees"))).count }
        #expect(again == 0)
        let stored = try await store.auditEvents(AuditQuery())
        try await store.close()
        #expect(Set(stored) == [Self.edgeEvent(id: "agrees"), Self.edgeEvent(id: "later", at: 0.5), {
            var kept = Self.edgeEvent(id: "unavailable", outcome: .unavailable)
            kept.serialNumber = Self.serial("unavailable")  // the provisional row's: the retry gets that certificate
            return kept
        }()])
    }

    /// PostgreSQL keeps an update that changes no indexed column on its heap
    /// page and writes no index entry (a heap-only tuple), when the page has
    /// room; the backend's statistics count it.
    @Test("PostgreSQL: an agreeing event replaces the provisional row as a heap-only update; another time does not")
    func postgresHeapOnly() async throws {
        try await PostgresTestDatabase.withStore { store, _ in
            try await store.migrate()
            for id in ["agrees", "later"] { try await Self.commitProvisional(store, id: id) }
            // The counters include the connection's earlier transactions until they are reported: count the difference.
            func heapOnlyUpdates(_ event: AuditEvent) async throws -> (updated: Int64, heapOnly: Int64) {
                try await store.transaction("test") { sql in
                    func counters() async throws -> (Int64, Int64) {
                        let row = try #require(
                            try await sql.run(
                                """
                                SELECT pg_stat_get_xact_tuples_updated('audit_events'::regclass) AS updated,
                                       pg_stat_get_xact_tuples_hot_updated('audit_events'::regclass) AS heap_only
                                """
                            ).first)
                        return (try row.integer("updated") ?? -1, try row.integer("heap_only") ?? -1)
                    }
                    let before = try await counters()
                    _ = try await sql.run(PostgresStore.insertStatement([event], provisional: false))
                    let after = try await counters()
                    return (after.0 - before.0, after.1 - before.1)
                }
            }
            let agreeing = try await heapOnlyUpdates(Self.edgeEvent(id: "agrees"))
            #expect(agreeing.updated == 1 && agreeing.heapOnly == 1)
            let later = try await heapOnlyUpdates(Self.edgeEvent(id: "later", at: 0.5))
            #expect(later.updated == 1 && later.heapOnly == 0)
            #expect(Set(try await store.auditEvents(AuditQuery())) == [Self.edgeEvent(id: "agrees"), Self.edgeEvent(id: "later", at: 0.5)])
        }
    }
}
