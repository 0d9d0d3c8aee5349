import Foundation
import Testing
import ScepterProtocol
@testable import ScepterControl

/// The behaviour every `ControlStore` must have, SQLite and PostgreSQL alike.
///
/// Each check receives a fresh, empty, not yet migrated store. Run them as
/// `@Test(arguments: ControlStoreContract.allCases)` with the store under test.
enum ControlStoreContract: String, CaseIterable, Sendable {
    case migrateTwiceIsIdempotent
    case unknownKeysReadAsNil
    case issuedRoundTrip
    case issuedTwiceConflictsAndKeepsTheFirst
    case eachCSRUnderOneTransactionIsItsOwnRequest
    case concurrentIssuedCommitsHaveOneWinner
    case rejectedRoundTrip
    case rejectedTwiceConflicts
    case transactionIDsAreScopedByProfile
    case auditRoundTrip
    case auditInsertIsIdempotentByID
    case auditBatchInsertsManyReplacesProvisionalAndKeepsFirstCopies
    case issuedWithAuditCommitsAProvisionalRowTheEdgeReplaces
    case conflictingIssueLeavesNoProvisionalRow
    case auditFilters
    case auditOrderAndLimit
    case outcomeCountsAndFailures
    case timestampsKeepMilliseconds
    case revocationsEmptyByDefault
    case revokeFeedsTheCRLOnce
    case revocationAndItsAuditRowCommitTogether
    case withdrawRefusesTheEnrollmentAndRevokes
    case markDeliveredOnlyTurnsNotifyingIntoIssued
    case outcomeCountsOnlyCountPKIOperations
    case inventoryFiltersBySearchAndState
    case inventoryPagesAreStableUnderInserts
    case renewalSupersedesItsPredecessor
    case auditRetentionDeletesOnlyOlderRowsInBatches
    case allTimeOutcomeCountsRollUpPastDaysOnce
    case soonestExpiringIsTheIssuersFirstValidCertificate
    case issuerInventoryCountsWhatEachNameStillAnswersFor

    /// Runs this check against `store`.
    func run(on store: any ControlStore) async throws {
        try await store.migrate()
        switch self {
        case .migrateTwiceIsIdempotent: try await Self.migrateTwice(store)
        case .unknownKeysReadAsNil: try await Self.unknownKeys(store)
        case .issuedRoundTrip: try await Self.issuedRoundTrip(store)
        case .issuedTwiceConflictsAndKeepsTheFirst: try await Self.issuedTwice(store)
        case .eachCSRUnderOneTransactionIsItsOwnRequest: try await Self.requestsUnderOneTransaction(store)
        case .concurrentIssuedCommitsHaveOneWinner: try await Self.concurrentIssued(store)
        case .rejectedRoundTrip: try await Self.rejectedRoundTrip(store)
        case .rejectedTwiceConflicts: try await Self.rejectedTwice(store)
        case .transactionIDsAreScopedByProfile: try await Self.scopedByProfile(store)
        case .auditRoundTrip: try await Self.auditRoundTrip(store)
        case .auditInsertIsIdempotentByID: try await Self.auditIdempotent(store)
        case .auditBatchInsertsManyReplacesProvisionalAndKeepsFirstCopies: try await Self.auditBatch(store)
        case .issuedWithAuditCommitsAProvisionalRowTheEdgeReplaces: try await Self.provisionalAuditReplaced(store)
        case .conflictingIssueLeavesNoProvisionalRow: try await Self.conflictLeavesNoProvisionalRow(store)
        case .auditFilters: try await Self.auditFilters(store)
        case .auditOrderAndLimit: try await Self.auditOrderAndLimit(store)
        case .outcomeCountsAndFailures: try await Self.outcomeCountsAndFailures(store)
        case .timestampsKeepMilliseconds: try await Self.timestampsKeepMilliseconds(store)
        case .revocationsEmptyByDefault: try await Self.revocationsEmpty(store)
        case .revokeFeedsTheCRLOnce: try await Self.revokeFeedsTheCRL(store)
        case .revocationAndItsAuditRowCommitTogether: try await Self.revocationAuditAtomic(store)
        case .withdrawRefusesTheEnrollmentAndRevokes: try await Self.withdrawRevokes(store)
        case .markDeliveredOnlyTurnsNotifyingIntoIssued: try await Self.markDelivered(store)
        case .outcomeCountsOnlyCountPKIOperations: try await Self.outcomeCountsSkipAdminEvents(store)
        case .inventoryFiltersBySearchAndState: try await Self.inventoryFilters(store)
        case .inventoryPagesAreStableUnderInserts: try await Self.inventoryPaging(store)
        case .renewalSupersedesItsPredecessor: try await Self.renewalSupersedes(store)
        case .auditRetentionDeletesOnlyOlderRowsInBatches: try await Self.auditRetention(store)
        case .allTimeOutcomeCountsRollUpPastDaysOnce: try await Self.outcomeCountsRollUp(store)
        case .soonestExpiringIsTheIssuersFirstValidCertificate: try await Self.soonestExpiring(store)
        case .issuerInventoryCountsWhatEachNameStillAnswersFor: try await Self.issuerInventory(store)
        }
    }

    // MARK: Sample rows

    /// A fixed instant with whole seconds (stores keep at least milliseconds).
    static let t0 = Date(timeIntervalSince1970: 1_760_000_000)

    static func certificate(
        serial: String, profile: String = "corp", transactionID: String, deviceID: String? = "device-42",
        createdAt: Date = t0
    ) -> CertificateRecord {
        CertificateRecord(
            serialNumber: serial, issuer: "corp-ca", profile: profile, subject: "CN=device-1,O=Example",
            subjectAlternativeNames: "DNS:device-1.example.com,UPN:alice@corp.example.com,URI:\(ControlFixtures.sidURI)",
            notBefore: t0.addingTimeInterval(-300), notAfter: t0.addingTimeInterval(365 * 86400),
            transactionID: transactionID, deviceID: deviceID,
            der: [0x30, 0x82, 0x00, 0x00, 0xFF, 0x00, 0x7F] + (0..<512).map { UInt8($0 % 256) }, createdAt: createdAt)
    }

    static func issuedEnrollment(serial: String, profile: String = "corp", transactionID: String) -> EnrollmentRecord {
        EnrollmentRecord(
            profile: profile, transactionID: transactionID, messageType: "PKCSReq", status: .issued, serialNumber: serial,
            outcome: .success, reason: "issued by corp-ca", csrSHA256: String(repeating: "ab", count: 32), createdAt: t0)
    }

    static func rejectedEnrollment(profile: String = "corp", transactionID: String, reason: String = "RSA key of 1024 bits") -> EnrollmentRecord {
        EnrollmentRecord(
            profile: profile, transactionID: transactionID, messageType: "RenewalReq", status: .rejected, serialNumber: nil,
            outcome: .policyViolation, reason: reason, csrSHA256: String(repeating: "cd", count: 32),
            createdAt: t0.addingTimeInterval(5))
    }

    static func event(
        id: String, profile: String = "corp", outcome: Outcome = .success, at offset: TimeInterval,
        transactionID: String? = nil, details: String = "issued"
    ) -> AuditEvent {
        AuditEvent(
            id: id, time: t0.addingTimeInterval(offset), edgeID: "edge-a", sourceAddress: "192.0.2.7", profile: profile,
            operation: .pkiOperation, messageType: "PKCSReq", transactionID: transactionID ?? "tx-\(id)", outcome: outcome,
            failInfo: outcome.failInfo?.name, claimSubject: "device-42", claimIssuer: "intune", deviceName: "LAPTOP-42",
            csrSubject: "CN=device-1", csrSANs: "DNS:device-1.example.com", serialNumber: outcome == .success ? "4a01" : nil,
            latencyMilliseconds: 12.5, details: details)
    }

    // MARK: Checks

    static func migrateTwice(_ store: any ControlStore) async throws {
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        try await store.migrate()
        try await store.migrate()
        #expect(try await store.certificate(serialNumber: "4a01") == certificate(serial: "4a01", transactionID: "tx-1"))
        try await store.commitIssued(certificate(serial: "4a02", transactionID: "tx-2"), enrollment: issuedEnrollment(serial: "4a02", transactionID: "tx-2"))
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first?.serialNumber == "4a02")
    }

    static func unknownKeys(_ store: any ControlStore) async throws {
        #expect(try await store.enrollments(profile: "corp", transactionID: "nothing").first == nil)
        #expect(try await store.certificate(serialNumber: "dead") == nil)
        #expect(try await store.auditEvents(AuditQuery()).isEmpty)
    }

    /// What the issuer continuity check reads: per issuer name, the unexpired certificate that expires first.
    static func soonestExpiring(_ store: any ControlStore) async throws {
        for (index, (issuer, days)) in [("corp-ca", -1.0), ("corp-ca", 100), ("corp-ca", 10), ("other-ca", 5)].enumerated() {
            var record = certificate(serial: "5e0\(index)", transactionID: "tx-soon-\(index)")
            record.issuer = issuer
            record.notAfter = t0.addingTimeInterval(days * 86_400)
            try await store.commitIssued(record, enrollment: issuedEnrollment(serial: record.serialNumber, transactionID: record.transactionID))
        }
        #expect(try await store.soonestExpiring(issuer: "corp-ca", now: t0)?.serialNumber == "5e02", "not the expired one, not the later one")
        #expect(try await store.soonestExpiring(issuer: "other-ca", now: t0)?.serialNumber == "5e03")
        #expect(try await store.soonestExpiring(issuer: "corp-ca", now: t0.addingTimeInterval(50 * 86_400))?.serialNumber == "5e01")
        #expect(try await store.soonestExpiring(issuer: "retired-ca", now: t0) == nil)
    }

    /// Per issuer name, its unexpired certificates by state and the last expiry; names with none left are absent.
    static func issuerInventory(_ store: any ControlStore) async throws {
        #expect(try await store.issuerInventory(now: t0).isEmpty)
        let rows: [(String, Double, CertificateRecord.Status)] = [
            ("corp-ca", -1, .active), ("corp-ca", 100, .active), ("corp-ca", 30, .revoked), ("corp-ca", 200, .superseded),
            ("b-ca", 5, .active), ("gone-ca", -10, .active), ("gone-ca", -1, .revoked),
        ]
        for (index, (issuer, days, status)) in rows.enumerated() {
            var record = certificate(serial: "6e0\(index)", transactionID: "tx-held-\(index)")
            record.issuer = issuer
            record.notAfter = t0.addingTimeInterval(days * 86_400)
            record.status = status
            try await store.commitIssued(record, enrollment: issuedEnrollment(serial: record.serialNumber, transactionID: record.transactionID))
        }
        let held = try await store.issuerInventory(now: t0)
        #expect(
            held == [
                IssuerInventory(issuer: "b-ca", unexpired: 1, active: 1, revoked: 0, lastExpiry: t0.addingTimeInterval(5 * 86_400)),
                IssuerInventory(issuer: "corp-ca", unexpired: 3, active: 1, revoked: 1, lastExpiry: t0.addingTimeInterval(200 * 86_400)),
            ], "sorted by name; gone-ca's are all expired; the expired active one not counted")
        #expect(try await store.issuerInventory(now: t0.addingTimeInterval(300 * 86_400)).isEmpty)
    }

    static func issuedRoundTrip(_ store: any ControlStore) async throws {
        let withDevice = certificate(serial: "4a01", transactionID: "tx-1", createdAt: t0.addingTimeInterval(0.25))
        let withoutDevice = certificate(serial: "7f02", transactionID: "tx-2", deviceID: nil)
        try await store.commitIssued(withDevice, enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        try await store.commitIssued(withoutDevice, enrollment: issuedEnrollment(serial: "7f02", transactionID: "tx-2"))

        #expect(try await store.certificate(serialNumber: "4a01") == withDevice)
        #expect(try await store.certificate(serialNumber: "7f02") == withoutDevice)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first == issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first == issuedEnrollment(serial: "7f02", transactionID: "tx-2"))
        #expect(try await store.certificate(serialNumber: "4a01")?.status == .active)
    }

    static func issuedTwice(_ store: any ControlStore) async throws {
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))

        await #expect(throws: StoreConflict.self) {
            try await store.commitIssued(
                certificate(serial: "4a02", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a02", transactionID: "tx-1"))
        }

        #expect(try await store.certificate(serialNumber: "4a02") == nil, "the losing certificate must not be stored")
        #expect(try await store.certificate(serialNumber: "4a01") != nil)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.serialNumber == "4a01")
        // A rejection of the same request conflicts too: the first answer stands.
        var sameRequest = rejectedEnrollment(transactionID: "tx-1")
        sameRequest.csrSHA256 = issuedEnrollment(serial: "4a01", transactionID: "tx-1").csrSHA256
        await #expect(throws: StoreConflict.self) { try await store.commitRejected(sameRequest) }
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.status == .issued)
    }

    /// A client that keeps its key pair sends a new CSR under the same
    /// transactionID: each CSR is its own request, found by its digest.
    static func requestsUnderOneTransaction(_ store: any ControlStore) async throws {
        let first = issuedEnrollment(serial: "4a01", transactionID: "tx-key")
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-key"), enrollment: first)
        var second = issuedEnrollment(serial: "4a02", transactionID: "tx-key")
        second.csrSHA256 = String(repeating: "ef", count: 32)
        second.createdAt = t0.addingTimeInterval(60)
        try await store.commitIssued(certificate(serial: "4a02", transactionID: "tx-key"), enrollment: second)
        var refused = rejectedEnrollment(transactionID: "tx-key")
        refused.createdAt = t0.addingTimeInterval(120)
        try await store.commitRejected(refused)

        #expect(try await store.enrollment(first.key)?.serialNumber == "4a01")
        #expect(try await store.enrollment(second.key)?.serialNumber == "4a02")
        #expect(try await store.enrollment(refused.key)?.status == .rejected)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-key").map(\.csrSHA256) == [refused.csrSHA256, second.csrSHA256, first.csrSHA256])
        var unknown = first.key
        unknown.csrSHA256 = String(repeating: "00", count: 32)
        #expect(try await store.enrollment(unknown) == nil)
    }

    static func concurrentIssued(_ store: any ControlStore) async throws {
        let serials = (0..<12).map { String(format: "5b%02x", $0) }
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for serial in serials {
                group.addTask {
                    do {
                        try await store.commitIssued(
                            certificate(serial: serial, transactionID: "tx-race"),
                            enrollment: issuedEnrollment(serial: serial, transactionID: "tx-race"))
                        return (serial, true)
                    } catch is StoreConflict {
                        return (serial, false)
                    } catch {
                        Issue.record("commit failed with \(error), not StoreConflict")
                        return (serial, false)
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }

        let winners = results.filter(\.value).map(\.key)
        #expect(winners.count == 1, "winners: \(winners)")
        let recorded = try await store.enrollments(profile: "corp", transactionID: "tx-race").first
        #expect(recorded?.serialNumber == winners.first)
        for serial in serials where serial != winners.first {
            #expect(try await store.certificate(serialNumber: serial) == nil, "loser \(serial) left a certificate")
        }
    }

    static func rejectedRoundTrip(_ store: any ControlStore) async throws {
        let rejected = rejectedEnrollment(transactionID: "tx-no", reason: "requested extended key usage codeSigning is not in ALLOWED_EKUS")
        try await store.commitRejected(rejected)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-no").first == rejected)
    }

    static func rejectedTwice(_ store: any ControlStore) async throws {
        try await store.commitRejected(rejectedEnrollment(transactionID: "tx-no", reason: "first"))
        await #expect(throws: StoreConflict.self) {
            try await store.commitRejected(rejectedEnrollment(transactionID: "tx-no", reason: "second"))
        }
        await #expect(throws: StoreConflict.self) {
            var sameRequest = issuedEnrollment(serial: "4a09", transactionID: "tx-no")
            sameRequest.csrSHA256 = rejectedEnrollment(transactionID: "tx-no").csrSHA256
            try await store.commitIssued(certificate(serial: "4a09", transactionID: "tx-no"), enrollment: sameRequest)
        }
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-no").first?.reason == "first")
        #expect(try await store.certificate(serialNumber: "4a09") == nil)
    }

    static func scopedByProfile(_ store: any ControlStore) async throws {
        try await store.commitIssued(
            certificate(serial: "4a01", profile: "corp", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", profile: "corp", transactionID: "tx-1"))
        try await store.commitRejected(rejectedEnrollment(profile: "wifi", transactionID: "tx-1"))

        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.status == .issued)
        #expect(try await store.enrollments(profile: "wifi", transactionID: "tx-1").first?.status == .rejected)
        #expect(try await store.enrollments(profile: "vpn", transactionID: "tx-1").first == nil)
    }

    static func auditRoundTrip(_ store: any ControlStore) async throws {
        let full = event(id: "e-full", outcome: .success, at: 0)
        let sparse = AuditEvent(
            id: "e-sparse", time: t0.addingTimeInterval(1), edgeID: "edge-b", sourceAddress: nil, profile: "corp",
            operation: .getCACaps, outcome: .malformed, latencyMilliseconds: 0, details: "")
        try await store.insertAudit(full)
        try await store.insertAudit(sparse)

        let events = try await store.auditEvents(AuditQuery())
        #expect(events == [sparse, full])
    }

    static func auditIdempotent(_ store: any ControlStore) async throws {
        try await store.insertAudit(event(id: "e-1", at: 0, details: "first"))
        try await store.insertAudit(event(id: "e-1", at: 0, details: "first"))
        try await store.insertAudit(event(id: "e-1", at: 60, details: "redelivered with other content"))

        let events = try await store.auditEvents(AuditQuery())
        #expect(events.map(\.id) == ["e-1"])
        #expect(events.first?.details == "first", "the first delivery wins")
    }

    /// The audit consumer's batch: more rows than one statement takes, a
    /// provisional row replaced, an id already stored ignored, and an id
    /// twice in the batch stored once (its first copy).
    static func auditBatch(_ store: any ControlStore) async throws {
        try await store.commitIssued(
            certificate(serial: "4a01", transactionID: "tx-p"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-p"),
            audit: event(id: "p", at: 0, transactionID: "tx-p", details: "provisional"))
        try await store.insertAudit(event(id: "old", at: 0, details: "stored before"))
        var batch = (0..<450).map { event(id: String(format: "b-%03d", $0), at: Double($0), details: "batch \($0)") }
        batch.append(event(id: "p", at: 1, transactionID: "tx-p", details: "the edge's event"))
        batch.append(event(id: "old", at: 2, details: "redelivered"))
        batch.append(event(id: "b-007", at: 3, details: "second copy in the batch"))
        try await store.insertAudit(batch)

        let stored = try await store.auditEvents(AuditQuery(limit: 1000))
        #expect(stored.count == 452)
        let byID = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byID["p"]?.details == "the edge's event")
        #expect(byID["old"]?.details == "stored before")
        #expect(byID["b-007"]?.details == "batch 7")
        #expect(byID["b-449"]?.details == "batch 449")
        try await store.insertAudit([])
        #expect(try await store.auditEvents(AuditQuery(limit: 1000)).count == 452)
    }

    static func provisionalAuditReplaced(_ store: any ControlStore) async throws {
        let provisional = event(id: "e-1", at: 0, details: "recorded by the control plane")
        try await store.commitIssued(
            certificate(serial: "4a01", transactionID: "tx-e-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-e-1"),
            audit: provisional)
        #expect(try await store.auditEvents(AuditQuery()) == [provisional], "the certificate never exists without its audit row")

        var fromEdge = event(id: "e-1", at: 0.5, details: "the edge's event")
        fromEdge.sourceAddress = "198.51.100.9"
        try await store.insertAudit(fromEdge)
        #expect(try await store.auditEvents(AuditQuery()) == [fromEdge], "the edge's event replaces the provisional row")

        try await store.insertAudit(event(id: "e-1", at: 60, details: "redelivered with other content"))
        #expect(try await store.auditEvents(AuditQuery()) == [fromEdge], "after that the first delivery wins again")

        // The usual case: the provisional row already has the edge's time, identity and serial; the rest changes.
        var agreeing = event(id: "e-3", at: 3, transactionID: "tx-e-3", details: "recorded by the control plane")
        agreeing.latencyMilliseconds = 0
        try await store.commitIssued(
            certificate(serial: "4a03", transactionID: "tx-e-3"), enrollment: issuedEnrollment(serial: "4a03", transactionID: "tx-e-3"),
            audit: agreeing)
        var agreed = event(id: "e-3", at: 3, transactionID: "tx-e-3", details: "the edge's event")
        agreed.edgeID = "edge-b"
        agreed.sourceAddress = "198.51.100.10"
        agreed.claimIssuer = "intune-2"
        agreed.csrSubject = "CN=device-3"
        try await store.insertAudit([agreed, event(id: "e-4", at: 4, details: "another event in the batch")])
        #expect(try await store.auditEvents(AuditQuery(transactionID: "tx-e-3")) == [agreed], "every column is the edge's")
        try await store.insertAudit(event(id: "e-3", at: 3, transactionID: "tx-e-3", details: "redelivered"))
        #expect(try await store.auditEvents(AuditQuery(transactionID: "tx-e-3")) == [agreed], "after that the first delivery wins")
        #expect(try await store.auditEvents(AuditQuery(transactionID: "tx-e-4")).map(\.details) == ["another event in the batch"])

        // The commit went through but the edge answered 503: its event replaces the row and the serial stays.
        var committed = event(id: "e-2", at: 1, transactionID: "tx-e-2")
        committed.serialNumber = "4a02"
        try await store.commitIssued(
            certificate(serial: "4a02", transactionID: "tx-e-2"), enrollment: issuedEnrollment(serial: "4a02", transactionID: "tx-e-2"),
            audit: committed)
        try await store.insertAudit(event(id: "e-2", outcome: .unavailable, at: 2, transactionID: "tx-e-2", details: "answered 503"))
        let unavailable = try #require(try await store.auditEvents(AuditQuery(transactionID: "tx-e-2")).first)
        #expect(unavailable.outcome == .unavailable)
        #expect(unavailable.serialNumber == "4a02", "the row still names the certificate the retry will get")
    }

    static func conflictLeavesNoProvisionalRow(_ store: any ControlStore) async throws {
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        await #expect(throws: StoreConflict.self) {
            try await store.commitIssued(
                certificate(serial: "4a02", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a02", transactionID: "tx-1"),
                audit: event(id: "e-lost", at: 0))
        }
        #expect(try await store.auditEvents(AuditQuery()).isEmpty, "the losing transaction's audit row rolled back with it")
    }

    static func outcomeCountsAndFailures(_ store: any ControlStore) async throws {
        for (index, (profile, outcome)) in [
            ("corp", Outcome.success), ("corp", .success), ("corp", .replay), ("wifi", .rateLimited), ("corp", .pending),
        ].enumerated() {
            try await store.insertAudit(event(id: "c\(index)", profile: profile, outcome: outcome, at: TimeInterval(index * 100)))
        }
        // Three days later: t0's day comes from the daily rollup.
        let all = Set(try await store.outcomeCounts(since: nil, now: t0.addingTimeInterval(3 * 86_400)))
        #expect(all == [
            OutcomeCount(profile: "corp", outcome: "success", count: 2), OutcomeCount(profile: "corp", outcome: "replay", count: 1),
            OutcomeCount(profile: "wifi", outcome: "rate_limited", count: 1), OutcomeCount(profile: "corp", outcome: "pending", count: 1),
        ])
        let recent = Set(try await store.outcomeCounts(since: t0.addingTimeInterval(150), now: t0.addingTimeInterval(3 * 86_400)))
        #expect(recent == [
            OutcomeCount(profile: "corp", outcome: "replay", count: 1), OutcomeCount(profile: "wifi", outcome: "rate_limited", count: 1),
            OutcomeCount(profile: "corp", outcome: "pending", count: 1),
        ])
        let failures = try await store.auditEvents(AuditQuery(failuresOnly: true))
        #expect(failures.map(\.id) == ["c3", "c2"], "refusals only, newest first")
    }

    static func auditFilters(_ store: any ControlStore) async throws {
        let events = [
            event(id: "e1", profile: "corp", outcome: .success, at: 0),
            event(id: "e2", profile: "corp", outcome: .policyViolation, at: 10),
            event(id: "e3", profile: "wifi", outcome: .success, at: 20),
            event(id: "e4", profile: "corp", outcome: .success, at: 30, transactionID: "tx-find-me"),
            event(id: "e5", profile: "wifi", outcome: .replay, at: 40),
        ]
        // Inserted out of order: the store orders, not the insertion.
        for event in [events[2], events[0], events[4], events[1], events[3]] { try await store.insertAudit(event) }

        func ids(_ query: AuditQuery) async throws -> [String] { try await store.auditEvents(query).map(\.id) }
        #expect(try await ids(AuditQuery()) == ["e5", "e4", "e3", "e2", "e1"])
        #expect(try await ids(AuditQuery(profile: "corp")) == ["e4", "e2", "e1"])
        #expect(try await ids(AuditQuery(outcome: .success)) == ["e4", "e3", "e1"])
        #expect(try await ids(AuditQuery(profile: "corp", outcome: .success)) == ["e4", "e1"])
        #expect(try await ids(AuditQuery(outcome: .rateLimited)) == [])
        #expect(try await ids(AuditQuery(transactionID: "tx-find-me")) == ["e4"])
        #expect(try await ids(AuditQuery(since: t0.addingTimeInterval(10))) == ["e5", "e4", "e3", "e2"], "since is inclusive")
        #expect(try await ids(AuditQuery(until: t0.addingTimeInterval(30))) == ["e3", "e2", "e1"], "until is exclusive")
        #expect(try await ids(AuditQuery(since: t0.addingTimeInterval(10), until: t0.addingTimeInterval(30))) == ["e3", "e2"])
        #expect(try await ids(AuditQuery(profile: "wifi", since: t0.addingTimeInterval(25))) == ["e5"])
    }

    static func auditOrderAndLimit(_ store: any ControlStore) async throws {
        for index in 0..<30 {
            try await store.insertAudit(event(id: String(format: "e%02d", index), at: Double(index)))
        }

        let newestFive = try await store.auditEvents(AuditQuery(limit: 5)).map(\.id)
        #expect(newestFive == ["e29", "e28", "e27", "e26", "e25"])
        let all = try await store.auditEvents(AuditQuery(limit: 1000))
        #expect(all.count == 30)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.time > $1.time }, "newest first")
        let window = try await store.auditEvents(AuditQuery(since: t0.addingTimeInterval(10), until: t0.addingTimeInterval(13), limit: 2))
        #expect(window.map(\.id) == ["e12", "e11"])
    }

    static func timestampsKeepMilliseconds(_ store: any ControlStore) async throws {
        let offsets = [0.001, 0.026, 0.027, 0.250, 0.999]
        for (index, offset) in offsets.enumerated() {
            try await store.insertAudit(event(id: "ms-\(index)", at: offset))
        }

        let events = try await store.auditEvents(AuditQuery())
        #expect(events.map(\.id) == ["ms-4", "ms-3", "ms-2", "ms-1", "ms-0"], "events a millisecond apart keep their order")
        for event in events {
            let index = try #require(Int(event.id.dropFirst(3)))
            let written = t0.addingTimeInterval(offsets[index])
            #expect(
                abs(event.time.timeIntervalSince(written)) < 0.0005,
                "\(event.id) written at +\(offsets[index]) s reads back at +\(event.time.timeIntervalSince(t0)) s")
        }
        let window = try await store.auditEvents(AuditQuery(since: t0.addingTimeInterval(0.027), until: t0.addingTimeInterval(0.251)))
        #expect(window.map(\.id) == ["ms-3", "ms-2"])
    }

    static func revocationsEmpty(_ store: any ControlStore) async throws {
        #expect(try await store.revocations(issuer: "corp-ca").isEmpty)
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        #expect(try await store.revocations(issuer: "corp-ca").isEmpty, "issuing revokes nothing")
    }

    // MARK: Revocation and Intune delivery

    struct AuditRowRefused: Error {}

    /// No revocation without its audit row: when the row cannot be made, nothing is revoked, while
    /// writes committing beside it (SQLite's group commit) keep theirs.
    static func revocationAuditAtomic(_ store: any ControlStore) async throws {
        try await store.commitIssued(certificate(serial: "4b01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4b01", transactionID: "tx-1"))
        let at = t0.addingTimeInterval(60)
        async let failed: (any Error)? = {
            do {
                _ = try await store.revoke(Revocation(serialNumber: "4b01", reason: .keyCompromise, actor: "admin", at: at)) { _ in throw AuditRowRefused() }
                return nil
            } catch {
                return error
            }
        }()
        async let beside: Void = store.commitIssued(
            certificate(serial: "4b02", transactionID: "tx-2"), enrollment: issuedEnrollment(serial: "4b02", transactionID: "tx-2"))
        let error = await failed
        try await beside
        #expect(error is AuditRowRefused, "the caller gets the error: \(String(describing: error))")
        #expect(try await store.certificate(serialNumber: "4b01")?.status == .active, "the revocation rolled back")
        #expect(try await store.revocations(issuer: "corp-ca").isEmpty)
        #expect(try await store.certificate(serialNumber: "4b02")?.status == .active, "the write beside it committed")
        #expect(try await store.auditEvents(AuditQuery(operation: .revoke)).isEmpty)
    }

    static func revokeFeedsTheCRL(_ store: any ControlStore) async throws {
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
        let at = t0.addingTimeInterval(60)
        // The audit row the caller makes of the outcome commits with the revocation.
        let audit: @Sendable (RevocationOutcome) -> AuditEvent? = { outcome in
            guard case .revoked(let record) = outcome else { return nil }
            return AuditEvent(
                time: at, edgeID: "control", sourceAddress: nil, profile: record.profile, operation: .revoke, outcome: .success,
                serialNumber: record.serialNumber, latencyMilliseconds: 0, details: "revoked by intune")
        }
        let first = try await store.revoke(Revocation(serialNumber: "4a01", reason: .privilegeWithdrawn, actor: "intune", at: at), audit: audit)
        guard case .revoked(let record) = first else {
            Issue.record("first revocation answered \(first)")
            return
        }
        #expect(record.status == .revoked)
        #expect(try await store.certificate(serialNumber: "4a01")?.status == .revoked)
        let again = try await store.revoke(Revocation(serialNumber: "4a01", reason: .keyCompromise, actor: "admin", at: at.addingTimeInterval(5)), audit: audit)
        guard case .alreadyRevoked = again else {
            Issue.record("second revocation answered \(again)")
            return
        }
        let audited = try await store.auditEvents(AuditQuery(operation: .revoke))
        #expect(audited.map(\.serialNumber) == ["4a01"] && audited.first?.details == "revoked by intune", "\(audited)")
        #expect(try await store.revoke(Revocation(serialNumber: "dead", reason: .unspecified, actor: "intune", at: at), audit: { _ in nil }) == .notFound)
        let revoked = try await store.revocations(issuer: "corp-ca")
        #expect(revoked.count == 1)
        #expect(revoked.first?.serialNumber == "4a01")
        #expect(revoked.first?.revokedAt == at)
        // A search page's revocations in one read: the revoked ones only.
        try await store.commitIssued(certificate(serial: "4a02", transactionID: "tx-2"), enrollment: issuedEnrollment(serial: "4a02", transactionID: "tx-2"))
        let page = try await store.revocations(serialNumbers: ["4a01", "4a02", "dead"])
        #expect(page.keys.sorted() == ["4a01"])
        #expect(page["4a01"] == revoked.first)
        #expect(try await store.revocations(serialNumbers: []).isEmpty)
    }

    static func withdrawRevokes(_ store: any ControlStore) async throws {
        var enrollment = issuedEnrollment(serial: "4a01", transactionID: "tx-1")
        enrollment.status = .notifying
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: enrollment)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.status == .notifying)
        try await store.withdraw(
            enrollment.key, outcome: .notificationFailed, reason: "successNotification failed",
            revocation: Revocation(serialNumber: "4a01", reason: .cessationOfOperation, actor: "scepter", at: t0))
        let recorded = try await store.enrollments(profile: "corp", transactionID: "tx-1").first
        #expect(recorded?.status == .rejected)
        #expect(recorded?.outcome == .notificationFailed)
        #expect(recorded?.reason == "successNotification failed")
        #expect(try await store.certificate(serialNumber: "4a01")?.status == .revoked)
        #expect(try await store.revocations(issuer: "corp-ca").map(\.serialNumber) == ["4a01"])

        // Delivered by another replica first: nothing is withdrawn, nothing revoked.
        var delivered = issuedEnrollment(serial: "4a02", transactionID: "tx-2")
        delivered.status = .notifying
        try await store.commitIssued(certificate(serial: "4a02", transactionID: "tx-2"), enrollment: delivered)
        try await store.markDelivered(delivered.key, reason: "delivered")
        let withdrawn = try await store.withdraw(
            delivered.key, outcome: .notificationFailed, reason: "late failure",
            revocation: Revocation(serialNumber: "4a02", reason: .cessationOfOperation, actor: "scepter", at: t0))
        #expect(!withdrawn)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first?.status == .issued)
        #expect(try await store.certificate(serialNumber: "4a02")?.status == .active)
    }

    static func markDelivered(_ store: any ControlStore) async throws {
        var notifying = issuedEnrollment(serial: "4a01", transactionID: "tx-1")
        notifying.status = .notifying
        try await store.commitIssued(certificate(serial: "4a01", transactionID: "tx-1"), enrollment: notifying)
        try await store.markDelivered(notifying.key, reason: "issued; Intune acknowledged")
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.status == .issued)
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-1").first?.reason == "issued; Intune acknowledged")
        // A refusal stays a refusal.
        try await store.commitRejected(rejectedEnrollment(transactionID: "tx-2"))
        try await store.markDelivered(rejectedEnrollment(transactionID: "tx-2").key, reason: "issued")
        #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first?.status == .rejected)
    }

    static func outcomeCountsSkipAdminEvents(_ store: any ControlStore) async throws {
        try await store.insertAudit(event(id: "e1", at: 0))
        var revocation = event(id: "e2", at: 1)
        revocation.operation = .intuneRevocation
        try await store.insertAudit(revocation)
        let counts = try await store.outcomeCounts(since: nil, now: t0)
        #expect(counts == [OutcomeCount(profile: "corp", outcome: "success", count: 1)])
    }

    /// Whole days before yesterday are counted once into the rollup; later
    /// counts add only what is newer, and pruning takes the days it empties.
    static func outcomeCountsRollUp(_ store: any ControlStore) async throws {
        let day = 86_400.0
        for offset in 0..<5 {
            try await store.insertAudit(event(id: "d\(offset)", outcome: offset == 2 ? .replay : .success, at: Double(offset) * day))
        }
        var admin = event(id: "admin", at: day)
        admin.operation = .revoke
        try await store.insertAudit(admin)
        func total(_ now: Date) async throws -> Set<OutcomeCount> { Set(try await store.outcomeCounts(since: nil, now: now)) }
        // Seen from day 4: days 0–2 from the rollup, days 3 and 4 live.
        let dayFour = t0.addingTimeInterval(4 * day + 60)
        let expected: Set<OutcomeCount> = [OutcomeCount(profile: "corp", outcome: "success", count: 4), OutcomeCount(profile: "corp", outcome: "replay", count: 1)]
        #expect(try await total(dayFour) == expected)
        #expect(try await total(dayFour) == expected, "a second count rolls nothing up twice")
        // A new event today counts once; the next day rolls up day 3 as well, and the totals stay.
        try await store.insertAudit(event(id: "d4b", at: 4 * day + 30))
        let withNew: Set<OutcomeCount> = [OutcomeCount(profile: "corp", outcome: "success", count: 5), OutcomeCount(profile: "corp", outcome: "replay", count: 1)]
        #expect(try await total(dayFour) == withNew)
        #expect(try await total(t0.addingTimeInterval(5 * day + 60)) == withNew)
        #expect(try await total(t0.addingTimeInterval(30 * day)) == withNew)
        // Retention removes days 0 and 1 from the events and from the rollup.
        while try await store.deleteAuditEvents(before: t0.addingTimeInterval(2 * day - 1), limit: 100) > 0 {}
        #expect(try await total(t0.addingTimeInterval(30 * day)) == [
            OutcomeCount(profile: "corp", outcome: "success", count: 3), OutcomeCount(profile: "corp", outcome: "replay", count: 1),
        ])
    }

    // MARK: Inventory

    /// Commits a certificate with its own subject, profile, issue time and lifetime.
    static func issue(
        _ store: any ControlStore, serial: String, profile: String = "corp", subject: String = "CN=device-1,O=Example",
        device: String? = "device-42", issuedAt offset: TimeInterval = 0, lifetime: TimeInterval = 365 * 86400
    ) async throws {
        var record = certificate(serial: serial, profile: profile, transactionID: "tx-\(serial)", deviceID: device, createdAt: t0.addingTimeInterval(offset))
        record.subject = subject
        record.notBefore = t0.addingTimeInterval(offset - 300)
        record.notAfter = t0.addingTimeInterval(offset + lifetime)
        try await store.commitIssued(record, enrollment: issuedEnrollment(serial: serial, profile: profile, transactionID: "tx-\(serial)"))
    }

    static func serials(_ store: any ControlStore, _ query: CertificateQuery) async throws -> [String] {
        try await store.certificates(query).certificates.map(\.serialNumber)
    }

    static func inventoryFilters(_ store: any ControlStore) async throws {
        try await issue(store, serial: "a1", subject: "CN=LAPTOP-Alice,O=Example", device: "dev-alice", issuedAt: 0)
        try await issue(store, serial: "a2", profile: "wifi", subject: "CN=printer_7%,O=Example", device: nil, issuedAt: 10)
        try await issue(store, serial: "a3", subject: "CN=old-box", issuedAt: 20, lifetime: 30)
        try await issue(store, serial: "a4", subject: "CN=stolen", issuedAt: 30)
        _ = try await store.revoke(Revocation(serialNumber: "a4", reason: .keyCompromise, actor: "admin", at: t0.addingTimeInterval(40)), audit: { _ in nil })
        let now = t0.addingTimeInterval(100)

        #expect(try await serials(store, CertificateQuery(now: now)) == ["a4", "a3", "a2", "a1"], "newest first")
        #expect(try await serials(store, CertificateQuery(profile: "wifi", now: now)) == ["a2"])
        #expect(try await serials(store, CertificateQuery(state: .active, now: now)) == ["a2", "a1"])
        #expect(try await serials(store, CertificateQuery(state: .expired, now: now)) == ["a3"])
        #expect(try await serials(store, CertificateQuery(state: .revoked, now: now)) == ["a4"])
        #expect(try await serials(store, CertificateQuery(text: "laptop-alice", now: now)) == ["a1"], "case-insensitive")
        #expect(try await serials(store, CertificateQuery(text: "7%", now: now)) == ["a2"], "LIKE characters are literal")
        #expect(try await serials(store, CertificateQuery(text: "%", now: now)) == ["a2"])
        #expect(try await serials(store, CertificateQuery(device: "dev-alice", now: now)) == ["a1"])
        #expect(try await serials(store, CertificateQuery(serialNumber: "a3", now: now)) == ["a3"])
        #expect(try await serials(store, CertificateQuery(issuedSince: t0.addingTimeInterval(10), issuedUntil: t0.addingTimeInterval(30), now: now)) == ["a3", "a2"])
        #expect(try await serials(store, CertificateQuery(expiringBefore: t0.addingTimeInterval(60), now: now)) == ["a3"])
        #expect(try await serials(store, CertificateQuery(sort: .notAfter, now: now)) == ["a3", "a1", "a2", "a4"], "soonest expiry first")
        let revocation = try #require(try await store.revocation(serialNumber: "a4"))
        #expect(revocation.reason == .keyCompromise)
        #expect(revocation.actor == "admin")
        #expect(revocation.revokedAt == t0.addingTimeInterval(40))
        #expect(try await store.revocation(serialNumber: "a1") == nil)
    }

    static func inventoryPaging(_ store: any ControlStore) async throws {
        // Two certificates issued in the same millisecond: the serial breaks the tie.
        for (index, offset) in [0, 1, 1, 2, 3, 4, 5].enumerated() {
            try await issue(store, serial: "p\(index)", issuedAt: TimeInterval(offset))
        }
        var seen: [String] = []
        var cursor: PageCursor?
        var pages = 0
        repeat {
            let page = try await store.certificates(CertificateQuery(after: cursor, limit: 2))
            seen += page.certificates.map(\.serialNumber)
            cursor = page.next
            pages += 1
            // Issued meanwhile, newer than every page: never shows up in later pages, never repeats one.
            if pages == 1 { try await issue(store, serial: "late", issuedAt: 100) }
            if let token = cursor?.token { #expect(PageCursor(token: token) == cursor) }
        } while cursor != nil && pages < 10
        #expect(seen == ["p6", "p5", "p4", "p3", "p1", "p2", "p0"])
        #expect(pages == 4)
        #expect(PageCursor(token: "not a cursor") == nil)
        #expect(PageCursor(token: String(repeating: "A", count: 600)) == nil)
    }

    static func renewalSupersedes(_ store: any ControlStore) async throws {
        try await issue(store, serial: "b1")
        var renewed = certificate(serial: "b2", transactionID: "tx-b2")
        renewed.createdAt = t0.addingTimeInterval(60)
        try await store.commitIssued(renewed, enrollment: issuedEnrollment(serial: "b2", transactionID: "tx-b2"), audit: nil, supersedes: "b1")
        #expect(try await store.certificate(serialNumber: "b1")?.status == .superseded)
        #expect(try await store.certificate(serialNumber: "b2")?.status == .active)
        #expect(try await serials(store, CertificateQuery(state: .superseded)) == ["b1"])
    }

    static func auditRetention(_ store: any ControlStore) async throws {
        // A provisional row of an active certificate, older than the cutoff: it goes too; the certificate stays.
        try await store.commitIssued(
            certificate(serial: "4a01", transactionID: "tx-old-0"), enrollment: issuedEnrollment(serial: "4a01", transactionID: "tx-old-0"),
            audit: event(id: "old-0", at: 0))
        for offset in 1...4 { try await store.insertAudit(event(id: "old-\(offset)", at: TimeInterval(offset))) }
        for offset in [5, 6] { try await store.insertAudit(event(id: "kept-\(offset)", at: TimeInterval(offset))) }
        let cutoff = t0.addingTimeInterval(5)

        var batches: [Int] = []
        repeat {
            batches.append(try await store.deleteAuditEvents(before: cutoff, limit: 2))
        } while batches.last == 2 && batches.count < 10
        #expect(batches == [2, 2, 1], "at most the limit per call, until fewer remain")
        #expect(try await store.deleteAuditEvents(before: cutoff, limit: 2) == 0)
        #expect(try await store.auditEvents(AuditQuery()).map(\.id) == ["kept-6", "kept-5"], "a row at the cutoff itself is kept")
        #expect(try await store.certificate(serialNumber: "4a01")?.status == .active, "the inventory is not pruned")
    }
}
