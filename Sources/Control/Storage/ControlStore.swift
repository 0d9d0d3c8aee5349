import Foundation
import ScepterProtocol

/// The control plane's durable state (SPEC §7): certificate inventory,
/// enrollment idempotency records and the audit log. SQLite in embedded mode,
/// PostgreSQL in the cluster; both pass the same contract tests.
package protocol ControlStore: Sendable {
    /// Runs pending migrations (versioned, forward-only).
    func migrate() async throws

    /// The recorded answer for one request: (profile, transactionID, CSR digest).
    func enrollment(_ key: EnrollmentKey) async throws -> EnrollmentRecord?

    /// Every request recorded under (profile, transactionID), newest first: a
    /// client that keeps its key pair sends each new CSR under the same
    /// transactionID (RFC 8894 §3.2.1.1 derives it from the public key).
    /// At most `ControlStoreLimits.enrollmentsPerTransaction`.
    func enrollments(profile: String, transactionID: String) async throws -> [EnrollmentRecord]

    /// Records an issued certificate, its enrollment and (when given) a
    /// provisional audit row in one transaction, so no certificate exists
    /// without an audit record even if the edge that asked for it dies before
    /// writing its own event. The edge's event with the same id replaces the
    /// provisional row. A renewal names the certificate it `supersedes`,
    /// marked so in the same transaction. Throws `StoreConflict` when the
    /// enrollment already exists.
    func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?, supersedes: String?) async throws

    /// Records a refused enrollment so a retry gets the same answer.
    func commitRejected(_ enrollment: EnrollmentRecord) async throws

    func certificate(serialNumber: String) async throws -> CertificateRecord?

    /// The certificate of `issuer` (by name) not yet expired at `now` that expires first.
    func soonestExpiring(issuer: String, now: Date) async throws -> CertificateRecord?

    /// Every issuer name the inventory holds a certificate of that has not
    /// expired at `now`, sorted by name, with what it still answers for.
    func issuerInventory(now: Date) async throws -> [IssuerInventory]

    /// A page of the inventory matching `query`.
    func certificates(_ query: CertificateQuery) async throws -> CertificatePage

    /// A profile's PKIOperations per UTC hour since `since`: successes and refusals.
    func hourlyOutcomes(profile: String, since: Date) async throws -> [HourlyOutcomes]

    /// Totals and per-day series of the inventory for the console's overview.
    func inventorySummary(now: Date) async throws -> InventorySummary

    /// How a certificate was revoked; nil when it is not.
    func revocation(serialNumber: String) async throws -> RevocationEntry?

    /// How each of these certificates was revoked, by serial; those not revoked are absent.
    /// A search page's revocations in one read instead of one per row.
    func revocations(serialNumbers: [String]) async throws -> [String: RevocationEntry]

    /// Turns a `.notifying` enrollment into `.issued` (Intune acknowledged
    /// the certificate), replacing its reason. No-op for any other status.
    func markDelivered(_ key: EnrollmentKey, reason: String) async throws

    /// Turns a `.notifying` enrollment whose certificate must never be
    /// delivered into a refusal and revokes that certificate, in one
    /// transaction. False (nothing changed) when the enrollment is no longer
    /// `.notifying`: another replica delivered or withdrew it first.
    @discardableResult
    func withdraw(_ key: EnrollmentKey, outcome: Outcome, reason: String, revocation: Revocation) async throws -> Bool

    /// Revokes a certificate: its inventory status, the revocations row the
    /// CRL is built from and the audit row `audit` makes of the outcome (nil:
    /// none), in one transaction, so no revocation is left unaudited.
    func revoke(_ revocation: Revocation, audit: @escaping @Sendable (RevocationOutcome) throws -> AuditEvent?) async throws -> RevocationOutcome

    /// Inserts audit events in as few statements as it can; an event id
    /// seen before is ignored, unless its row is a provisional one from
    /// `commitIssued`, which it replaces. All of them, or none.
    func insertAudit(_ events: [AuditEvent]) async throws

    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]

    /// Deletes at most `limit` audit events whose time is before `cutoff`,
    /// provisional or not, in one short statement; returns how many went.
    /// Callers loop until it returns less than `limit`, so no statement holds
    /// locks on the table for long. Certificates and revocations are untouched.
    func deleteAuditEvents(before cutoff: Date, limit: Int) async throws -> Int

    /// How many audit events each (profile, outcome) has, since `since` (nil: all time).
    /// Provisional rows count: each stands for one request. `now` places
    /// the all-time count's rollup (whole days before yesterday, UTC).
    func outcomeCounts(since: Date?, now: Date) async throws -> [OutcomeCount]

    /// Revoked serial numbers of an issuer with their dates, for the CRL.
    func revocations(issuer: String) async throws -> [RevocationEntry]

    /// How many certificates of an issuer are revoked and when the latest
    /// was: a cheap check whether a published CRL is still current.
    func revocationStamp(issuer: String) async throws -> RevocationStamp
}

extension ControlStore {
    /// `commitIssued` of a first enrollment.
    package func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?) async throws {
        try await commitIssued(certificate, enrollment: enrollment, audit: audit, supersedes: nil)
    }

    /// `commitIssued` without an audit row.
    package func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord) async throws {
        try await commitIssued(certificate, enrollment: enrollment, audit: nil, supersedes: nil)
    }
}

/// A row of `certificates`.
package struct CertificateRecord: Sendable, Hashable {
    package enum Status: String, Sendable, Hashable, Codable {
        case active
        case revoked
        /// Renewed: a newer certificate replaced it; it may not renew again.
        case superseded
    }

    package var serialNumber: String
    package var issuer: String
    package var profile: String
    package var subject: String
    package var subjectAlternativeNames: String
    package var notBefore: Date
    package var notAfter: Date
    package var status: Status
    package var transactionID: String
    package var deviceID: String?
    package var der: [UInt8]
    package var createdAt: Date

    package init(
        serialNumber: String, issuer: String, profile: String, subject: String, subjectAlternativeNames: String,
        notBefore: Date, notAfter: Date, status: Status = .active, transactionID: String, deviceID: String?,
        der: [UInt8], createdAt: Date
    ) {
        self.serialNumber = serialNumber
        self.issuer = issuer
        self.profile = profile
        self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.status = status
        self.transactionID = transactionID
        self.deviceID = deviceID
        self.der = der
        self.createdAt = createdAt
    }
}

/// A revocation to record: a row of `revocations`.
package struct Revocation: Sendable, Hashable {
    /// RFC 5280 CRLReason names, as stored in `revocations.reason`.
    package enum Reason: String, Sendable, Hashable, Codable, CaseIterable {
        case unspecified
        case keyCompromise
        case cACompromise
        case affiliationChanged
        case superseded
        case cessationOfOperation
        case certificateHold
        case privilegeWithdrawn
        case aACompromise

        /// The CRLReason code (RFC 5280 §5.3.1; 7 is unused).
        package var code: Int {
            switch self {
            case .unspecified: 0
            case .keyCompromise: 1
            case .cACompromise: 2
            case .affiliationChanged: 3
            case .superseded: 4
            case .cessationOfOperation: 5
            case .certificateHold: 6
            case .privilegeWithdrawn: 9
            case .aACompromise: 10
            }
        }
    }

    package var serialNumber: String
    package var reason: Reason
    /// Who asked: `intune`, `scepter` (the control plane itself) or an admin token's name.
    package var actor: String
    package var at: Date
    /// When the key was compromised, if earlier (RFC 5280 §5.3.2).
    package var invalidityDate: Date?

    package init(serialNumber: String, reason: Reason, actor: String, at: Date, invalidityDate: Date? = nil) {
        self.serialNumber = serialNumber
        self.reason = reason
        self.actor = actor
        self.at = at
        self.invalidityDate = invalidityDate
    }
}

/// What `revoke` found.
package enum RevocationOutcome: Sendable, Hashable {
    case revoked(CertificateRecord)
    case alreadyRevoked(CertificateRecord)
    case notFound
}

/// Which request an enrollment record answers. The same (profile,
/// transactionID) with the same CSR is a retransmission; with another CSR it
/// is a new request (a re-enrollment or renewal with the same key pair).
package struct EnrollmentKey: Sendable, Hashable {
    package var profile: String
    package var transactionID: String
    /// SHA-256 of the CSR's DER, lower-case hex.
    package var csrSHA256: String

    package init(profile: String, transactionID: String, csrSHA256: String) {
        self.profile = profile
        self.transactionID = transactionID
        self.csrSHA256 = csrSHA256
    }
}

/// A row of `enrollments`: the idempotency record of one request.
package struct EnrollmentRecord: Sendable, Hashable {
    package enum Status: String, Sendable {
        case issued
        case rejected
        /// Issued and committed, but Intune's successNotification is not yet
        /// acknowledged: the certificate is not handed out in this state.
        case notifying
    }

    package var profile: String
    package var transactionID: String
    package var messageType: String
    package var status: Status
    package var serialNumber: String?
    package var outcome: Outcome
    package var reason: String
    /// SHA-256 of the CSR: with profile and transactionID, which request this answers.
    package var csrSHA256: String
    package var createdAt: Date

    package init(
        profile: String, transactionID: String, messageType: String, status: Status, serialNumber: String?,
        outcome: Outcome, reason: String, csrSHA256: String, createdAt: Date
    ) {
        self.profile = profile
        self.transactionID = transactionID
        self.messageType = messageType
        self.status = status
        self.serialNumber = serialNumber
        self.outcome = outcome
        self.reason = reason
        self.csrSHA256 = csrSHA256
        self.createdAt = createdAt
    }

    package var key: EnrollmentKey { EnrollmentKey(profile: profile, transactionID: transactionID, csrSHA256: csrSHA256) }
}

/// Filters for the audit log; nil means any.
package struct AuditQuery: Sendable {
    package var profile: String?
    package var outcome: Outcome?
    package var transactionID: String?
    /// The device: its name or its claim subject.
    package var device: String?
    package var claimSubject: String?
    package var operation: AuditOperation?
    package var serialNumber: String?
    package var since: Date?
    package var until: Date?
    /// Only refusals: every outcome but success and pending.
    package var failuresOnly: Bool
    /// Events after this one in the order (newest first).
    package var after: PageCursor?
    package var limit: Int

    package init(
        profile: String? = nil, outcome: Outcome? = nil, transactionID: String? = nil, device: String? = nil, claimSubject: String? = nil,
        operation: AuditOperation? = nil, serialNumber: String? = nil, since: Date? = nil, until: Date? = nil, failuresOnly: Bool = false,
        after: PageCursor? = nil, limit: Int = 100
    ) {
        self.profile = profile
        self.outcome = outcome
        self.transactionID = transactionID
        self.device = device
        self.claimSubject = claimSubject
        self.operation = operation
        self.serialNumber = serialNumber
        self.since = since
        self.until = until
        self.failuresOnly = failuresOnly
        self.after = after
        self.limit = limit
    }
}

/// One row of `outcomeCounts`.
package struct OutcomeCount: Sendable, Hashable {
    package var profile: String
    package var outcome: String
    package var count: Int

    package init(profile: String, outcome: String, count: Int) {
        self.profile = profile
        self.outcome = outcome
        self.count = count
    }
}

/// The enrollment for that (profile, transactionID) was written by someone else first.
package struct StoreConflict: Error, Sendable {}

extension ControlStore {
    /// One audit event (see `insertAudit(_:)` for many).
    package func insertAudit(_ event: AuditEvent) async throws {
        try await insertAudit([event])
    }
}

package enum ControlStoreLimits {
    /// `enrollments(profile:transactionID:)` returns at most this many, newest first.
    package static let enrollmentsPerTransaction = 100
}
