import Crypto
import Foundation
import Logging
import SwiftASN1
import Synchronization
import X509
import _CryptoExtras
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// Builders shared by the control-plane tests.
enum ControlFixtures {
    /// Intune's SID URI, as Windows devices request it.
    static let sidURI = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512"

    static let logger = Logger(label: "scepter.control.tests")

    /// Now, truncated to whole seconds: certificate times have second precision.
    static func wholeSecondNow() -> Date {
        Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    }

    enum DeviceKey: String, Sendable, CaseIterable {
        case rsa2048, rsa1024, p256

        func make() throws -> Certificate.PrivateKey {
            switch self {
            case .rsa2048: Certificate.PrivateKey(TestPKI.rsa2048Key())
            case .rsa1024: Certificate.PrivateKey(TestPKI.rsa1024Key())
            case .p256: Certificate.PrivateKey(P256.Signing.PrivateKey())
            }
        }
    }

    /// A LocalCA holding `identity`'s certificate and key.
    static func localCA(_ identity: TestPKI.Identity, name: String = "corp-ca") throws -> LocalCA {
        try LocalCA(name: name, certificatePEM: identity.certificatePEM, keyPEM: identity.keyPEM)
    }

    /// A parsed PKCS#10 request made with `key`.
    static func request(
        commonName: String? = "device-1", dnsNames: [String] = [], emails: [String] = [], upns: [String] = [],
        uris: [String] = [], ekus: [ExtendedKeyUsage.Usage] = [], key: Certificate.PrivateKey
    ) throws -> CertificationRequest {
        try CertificationRequest(
            derEncoded: try TestPKI.makeCSR(
                commonName: commonName, dnsNames: dnsNames, emails: emails, upns: upns, uris: uris, ekus: ekus, key: key))
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    static func pem(_ certificate: Certificate) throws -> String {
        try certificate.serializeAsPEM().pemString
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(by interval: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(interval) }
    }
}

/// A store that forwards every call to `base`: test wrappers implement only
/// what they watch.
protocol ForwardingStore: ControlStore {
    var base: any ControlStore { get }
}

extension ForwardingStore {
    func migrate() async throws { try await base.migrate() }
    func enrollment(_ key: EnrollmentKey) async throws -> EnrollmentRecord? { try await base.enrollment(key) }
    func enrollments(profile: String, transactionID: String) async throws -> [EnrollmentRecord] {
        try await base.enrollments(profile: profile, transactionID: transactionID)
    }
    func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?, supersedes: String?) async throws {
        try await base.commitIssued(certificate, enrollment: enrollment, audit: audit, supersedes: supersedes)
    }
    func certificates(_ query: CertificateQuery) async throws -> CertificatePage { try await base.certificates(query) }
    func revocation(serialNumber: String) async throws -> RevocationEntry? { try await base.revocation(serialNumber: serialNumber) }
    func revocations(serialNumbers: [String]) async throws -> [String: RevocationEntry] { try await base.revocations(serialNumbers: serialNumbers) }
    func hourlyOutcomes(profile: String, since: Date) async throws -> [HourlyOutcomes] {
        try await base.hourlyOutcomes(profile: profile, since: since)
    }
    func inventorySummary(now: Date) async throws -> InventorySummary { try await base.inventorySummary(now: now) }
    func commitRejected(_ enrollment: EnrollmentRecord) async throws { try await base.commitRejected(enrollment) }
    func certificate(serialNumber: String) async throws -> CertificateRecord? { try await base.certificate(serialNumber: serialNumber) }
    func soonestExpiring(issuer: String, now: Date) async throws -> CertificateRecord? { try await base.soonestExpiring(issuer: issuer, now: now) }
    func issuerInventory(now: Date) async throws -> [IssuerInventory] { try await base.issuerInventory(now: now) }
    func markDelivered(_ key: EnrollmentKey, reason: String) async throws { try await base.markDelivered(key, reason: reason) }
    func withdraw(_ key: EnrollmentKey, outcome: Outcome, reason: String, revocation: Revocation) async throws -> Bool {
        try await base.withdraw(key, outcome: outcome, reason: reason, revocation: revocation)
    }
    func revoke(_ revocation: Revocation, audit: @escaping @Sendable (RevocationOutcome) throws -> AuditEvent?) async throws -> RevocationOutcome {
        try await base.revoke(revocation, audit: audit)
    }
    func insertAudit(_ events: [AuditEvent]) async throws { try await base.insertAudit(events) }
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] { try await base.auditEvents(query) }
    func deleteAuditEvents(before cutoff: Date, limit: Int) async throws -> Int {
        try await base.deleteAuditEvents(before: cutoff, limit: limit)
    }
    func outcomeCounts(since: Date?, now: Date) async throws -> [OutcomeCount] { try await base.outcomeCounts(since: since, now: now) }
    func revocations(issuer: String) async throws -> [RevocationEntry] { try await base.revocations(issuer: issuer) }
    func revocationStamp(issuer: String) async throws -> RevocationStamp { try await base.revocationStamp(issuer: issuer) }
}

/// A real store with a tally of the commits that succeeded: lets tests state
/// "exactly one certificate" without reaching into SQL.
final class CountingStore: ForwardingStore {
    let base: any ControlStore
    private let counts = Mutex<(issued: Int, rejected: Int, conflicts: Int)>((0, 0, 0))

    init(_ base: any ControlStore) {
        self.base = base
    }

    var issuedCommits: Int { counts.withLock { $0.issued } }
    var rejectedCommits: Int { counts.withLock { $0.rejected } }
    var conflicts: Int { counts.withLock { $0.conflicts } }

    func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?, supersedes: String?) async throws {
        do {
            try await base.commitIssued(certificate, enrollment: enrollment, audit: audit, supersedes: supersedes)
            counts.withLock { $0.issued += 1 }
        } catch let error as StoreConflict {
            counts.withLock { $0.conflicts += 1 }
            throw error
        }
    }

    func commitRejected(_ enrollment: EnrollmentRecord) async throws {
        do {
            try await base.commitRejected(enrollment)
            counts.withLock { $0.rejected += 1 }
        } catch let error as StoreConflict {
            counts.withLock { $0.conflicts += 1 }
            throw error
        }
    }
}

extension EnrollmentDecision {
    var issued: IssuedCertificate? {
        if case .issued(let certificate) = self { return certificate }
        return nil
    }

    var refusal: Refusal? {
        if case .rejected(let refusal) = self { return refusal }
        return nil
    }

    var isPending: Bool {
        if case .pending = self { return true }
        return false
    }
}
