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
}
