import Foundation
import Testing
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("SQLiteStore", .timeLimit(.minutes(5)))
struct SQLiteStoreTests {
    @Test("meets the ControlStore contract (in memory)", arguments: ControlStoreContract.allCases)
    func contract(_ check: ControlStoreContract) async throws {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        do {
            try await check.run(on: store)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    @Test("meets the ControlStore contract (file)", arguments: [ControlStoreContract.issuedRoundTrip, .auditFilters])
    func contractOnFile(_ check: ControlStoreContract) async throws {
        let directory = try TemporaryDirectory()
        let store = try await SQLiteStore.open(path: directory.path("scepter.sqlite"), logger: ControlFixtures.logger)
        do {
            try await check.run(on: store)
        } catch {
            try await store.close()
            throw error
        }
        try await store.close()
    }

    @Test("A file-backed database keeps certificates, enrollments and audit events across close and reopen")
    func fileSurvivesReopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("scepter.sqlite")
        let certificate = ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1")
        let enrollment = ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-1")
        let rejected = ControlStoreContract.rejectedEnrollment(transactionID: "tx-2")
        let event = ControlStoreContract.event(id: "e-1", at: 0)

        let first = try await SQLiteStore.open(path: path, logger: ControlFixtures.logger)
        try await first.migrate()
        try await first.commitIssued(certificate, enrollment: enrollment)
        try await first.commitRejected(rejected)
        try await first.insertAudit(event)
        try await first.close()
        #expect(FileManager.default.fileExists(atPath: path))

        let second = try await SQLiteStore.open(path: path, logger: ControlFixtures.logger)
        try await second.migrate()
        let readCertificate = try await second.certificate(serialNumber: "4a01")
        let readEnrollment = try await second.enrollments(profile: "corp", transactionID: "tx-1").first
        let readRejected = try await second.enrollments(profile: "corp", transactionID: "tx-2").first
        let readEvents = try await second.auditEvents(AuditQuery())
        // The reopened store still enforces idempotency on what the first one wrote.
        await #expect(throws: StoreConflict.self) {
            try await second.commitIssued(
                ControlStoreContract.certificate(serial: "4a02", transactionID: "tx-1"),
                enrollment: ControlStoreContract.issuedEnrollment(serial: "4a02", transactionID: "tx-1"))
        }
        try await second.close()

        #expect(readCertificate == certificate)
        #expect(readEnrollment == enrollment)
        #expect(readRejected == rejected)
        #expect(readEvents == [event])
    }

    @Test("Two in-memory stores are independent")
    func inMemoryStoresAreIndependent() async throws {
        let a = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        let b = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await a.migrate()
        try await b.migrate()
        try await a.insertAudit(ControlStoreContract.event(id: "only-in-a", at: 0))

        let inB = try await b.auditEvents(AuditQuery())
        let inA = try await a.auditEvents(AuditQuery())
        try await a.close()
        try await b.close()

        #expect(inA.map(\.id) == ["only-in-a"])
        #expect(inB.isEmpty)
    }

    @Test("A duplicate serial is an error naming the constraint and the steps, not an enrollment conflict; a bad statement names the operation")
    func errorsNameWhatFailed() async throws {
        let store = try await Self.storeWithOneCertificate()
        let duplicate = await #expect(throws: SQLiteError.self) {
            try await store.commitIssued(
                ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-2"),
                enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-2"))
        }
        #expect(duplicate?.isConstraint == true)
        #expect(duplicate?.description.hasPrefix("SQLite database in memory: ") == true, "\(String(describing: duplicate))")
        #expect(duplicate?.description.contains("commitIssued: INSERT INTO certificates: UNIQUE constraint failed: certificates.serial") == true, "\(String(describing: duplicate))")
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").isEmpty, "the transaction rolled back")

        let syntax = await #expect(throws: SQLiteError.self) {
            try await store.run("probe") { sql in try await sql.run("SELEKT 1").count }
        }
        #expect(syntax?.description.contains("probe: SELEKT 1") == true, "\(String(describing: syntax))")
        #expect(syntax?.description.contains("syntax error") == true, "\(String(describing: syntax))")
        try await store.close()
        let closed = await #expect(throws: SQLiteError.self) { try await store.certificate(serialNumber: "4a01") }
        #expect(closed?.message == "the database is closed")

        // A lock held past busy_timeout by another program: the message says what holds it.
        let busy = SQLiteError(database: "/data/scepter.db", code: 5, message: "database is locked", doing: "commitIssued: BEGIN IMMEDIATE")
        #expect(busy.description == "SQLite database /data/scepter.db: commitIssued: BEGIN IMMEDIATE: database is locked (code 5); another program (a sqlite3 shell in a write transaction?) held the file for more than 5000 ms")
    }

    @Test("Past the prepared-statement cache's limit, old and new statements still answer")
    func preparedStatementCacheOverflows() async throws {
        let store = try await Self.storeWithOneCertificate()
        for round in 0..<2 {
            for number in 0..<100 {
                let row = try await store.run("probe") { sql in
                    let row = try #require(
                        try await sql.run(
                            "SELECT ? + \(number) AS n, 'x' || ? AS t, ? AS b, ? AS missing", [.integer(Int64(round)), .text("y\u{0}z"), .bytes([1, 2]), .null]
                        ).first)
                    return (try row.integer("n"), try row.text("n"), try row.text("t"), try row.bytes("b"), try row.text("missing"))
                }
                #expect(row.0 == Int64(round + number))
                #expect(row.1 == String(round + number), "an INTEGER reads as text too")
                #expect(row.2 == "xy\u{0}z", "a NUL inside text is kept")
                #expect(row.3 == [1, 2])
                #expect(row.4 == nil)
            }
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.serialNumber == "4a01")
        }
        try await store.close()
    }

    /// A migrated in-memory store holding certificate 4a01 of transaction tx-1.
    static func storeWithOneCertificate() async throws -> SQLiteStore {
        let store = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        try await store.migrate()
        try await store.commitIssued(
            ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1"),
            enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        return store
    }
}

@Suite("SQLiteStore group commit", .timeLimit(.minutes(2)))
struct SQLiteGroupCommitTests {
    @Test("Writes that arrive while the connection is busy commit in one transaction; one that fails rolls back alone")
    func writesCommitTogether() async throws {
        let directory = try TemporaryDirectory()
        let store = try await SQLiteStore.open(path: directory.path("scepter.sqlite"), logger: ControlFixtures.logger)
        try await store.migrate()
        // Holds the one connection, as a long admin query would, until `release` ends.
        let (entered, enter) = AsyncStream<Void>.makeStream()
        let (release, finish) = AsyncStream<Void>.makeStream()
        defer { finish.finish() }  // a failed requirement must not leave the writes waiting
        let holder = Task {
            defer { enter.finish() }
            try await store.run("hold") { _ in
                enter.yield()
                for await _ in release {}
            }
        }
        for await _ in entered { break }

        // In a known order: each write starts once the one before it waits.
        typealias Write = @Sendable () async throws -> Void
        let writes: [(name: String, write: Write)] = [
            ("6c00", { try await store.commitIssued(ControlStoreContract.certificate(serial: "6c00", transactionID: "tx-0"), enrollment: ControlStoreContract.issuedEnrollment(serial: "6c00", transactionID: "tx-0")) }),
            ("6c01", { try await store.commitIssued(ControlStoreContract.certificate(serial: "6c01", transactionID: "tx-1"), enrollment: ControlStoreContract.issuedEnrollment(serial: "6c01", transactionID: "tx-1")) }),
            // The same request as 6c00: its certificate goes in, its enrollment conflicts, both roll back.
            ("6cff", { try await store.commitIssued(ControlStoreContract.certificate(serial: "6cff", transactionID: "tx-0"), enrollment: ControlStoreContract.issuedEnrollment(serial: "6cff", transactionID: "tx-0")) }),
            ("rejected", { try await store.commitRejected(ControlStoreContract.rejectedEnrollment(transactionID: "tx-2")) }),
            ("audit", { try await store.insertAudit(ControlStoreContract.event(id: "e-1", at: 0)) }),
        ]
        let committedBefore = store.groupCommit.committedCount
        let results = try await withThrowingTaskGroup(of: (String, Result<Void, any Error>).self) { group in
            for (index, entry) in writes.enumerated() {
                group.addTask {
                    do {
                        try await entry.write()
                        return (entry.name, .success(()))
                    } catch {
                        return (entry.name, .failure(error))
                    }
                }
                let deadline = ContinuousClock.now + .seconds(60)
                while store.groupCommit.waitingCount <= index, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                try #require(store.groupCommit.waitingCount == index + 1, "write \(entry.name) did not wait for the busy connection")
            }
            #expect(store.groupCommit.committedCount == committedBefore, "a write committed while the connection was held")
            finish.finish()
            return try await group.reduce(into: [String: Result<Void, any Error>]()) { $0[$1.0] = $1.1 }
        }
        try await holder.value

        #expect(store.groupCommit.committedCount == committedBefore + 1, "the five writes took \(store.groupCommit.committedCount - committedBefore) commits")
        for name in ["6c00", "6c01", "rejected", "audit"] {
            #expect(throws: Never.self, "\(name)") { try results[name]?.get() }
        }
        #expect(throws: StoreConflict.self) { try results["6cff"]?.get() }
        #expect(try await store.certificate(serialNumber: "6c00") != nil)
        #expect(try await store.certificate(serialNumber: "6c01") != nil)
        #expect(try await store.certificate(serialNumber: "6cff") == nil, "the conflicting write left its certificate")
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-0").map(\.serialNumber) == ["6c00"])
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").map(\.outcome) == [.policyViolation])
        #expect(try await store.auditEvents(AuditQuery()).map(\.id) == ["e-1"])
        try await store.close()

        // What committed together is on disk, not only in the connection that wrote it.
        let reopened = try await SQLiteStore.open(path: directory.path("scepter.sqlite"), logger: ControlFixtures.logger)
        #expect(try await reopened.certificate(serialNumber: "6c01") != nil)
        try await reopened.close()
    }
}
