import Crypto
import Foundation
import Synchronization
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// An `IssuanceService` over a real in-memory SQLite store, with a clock the test moves.
struct IssuanceHarness: Sendable {
    let caIdentity: TestPKI.Identity
    let ca: LocalCA
    let store: CountingStore
    let service: IssuanceService
    let clock: ManualClock

    /// Builds the harness, runs `body`, and closes the store whatever happens.
    ///
    /// Every profile in `profiles` issues from the same CA.
    static func run(
        profiles: [String: CertificateProfile] = ["corp": CertificateProfile()], caKey: TestPKI.KeyKind = .rsa2048,
        caIdentity: TestPKI.Identity? = nil, chainPEM: String? = nil, nextCA: [UInt8]? = nil, start: Date = Date(),
        _ body: (IssuanceHarness) async throws -> Void
    ) async throws {
        let caIdentity = try caIdentity ?? TestPKI.makeCA(commonName: "Scepter Test CA", key: caKey)
        let ca = try LocalCA(name: "corp-ca", certificatePEM: caIdentity.certificatePEM, keyPEM: caIdentity.keyPEM, chainPEM: chainPEM)
        try await withStore { sqlite in
            let harness = try Self.make(
                caIdentity: caIdentity, ca: ca, store: CountingStore(sqlite), profiles: profiles, nextCA: nextCA, start: start)
            try await body(harness)
        }
    }

    /// Runs `body` with a migrated in-memory SQLite store, and closes it whatever happens.
    static func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let sqlite = try await SQLiteStore.open(path: nil, logger: ControlFixtures.logger)
        do {
            try await sqlite.migrate()
            try await body(sqlite)
        } catch {
            try await sqlite.close()
            throw error
        }
        try await sqlite.close()
    }

    private static func make(
        caIdentity: TestPKI.Identity, ca: LocalCA, store: CountingStore, profiles: [String: CertificateProfile],
        nextCA: [UInt8]?, start: Date
    ) throws -> IssuanceHarness {
        let clock = ManualClock(start)
        let configuration = ControlConfiguration(
            profiles: profiles.map { ControlConfiguration.Profile(name: $0.key, issuer: ca, policy: $0.value, nextCA: nextCA) })
        let service = IssuanceService(configuration: configuration, store: store, logger: ControlFixtures.logger, now: { clock.now })
        return IssuanceHarness(caIdentity: caIdentity, ca: ca, store: store, service: service, clock: clock)
    }

    /// A second service (another control-plane replica) over the same store and configuration.
    func replica() -> IssuanceService {
        IssuanceService(configuration: service.configuration, store: store, logger: ControlFixtures.logger, now: { [clock] in clock.now })
    }

    /// A job as an edge forwards it.
    static func job(
        _ device: Device, profile: String = "corp", transactionID: String = UUID().uuidString,
        messageType: MessageType = .pkcsReq, signer: [UInt8]? = nil, claim: ClaimSummary? = nil, parsedCSR: CertificationRequest? = nil
    ) -> EnrollmentRequest {
        EnrollmentRequest(
            profile: profile, transactionID: transactionID, messageType: messageType, csr: device.csr,
            signerCertificate: signer ?? device.signer.certificateDER, claim: claim, gates: ["message", "challenge:static"],
            edgeID: "edge-test", sourceAddress: "192.0.2.10", parsedCSR: parsedCSR)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// A device with a P-256 key: its self-signed SCEP signer and a CSR for the same key.
struct Device: Sendable {
    let signer: TestPKI.Identity
    let csr: [UInt8]

    init(
        commonName: String = "device-1", dnsNames: [String] = [], upns: [String] = [], uris: [String] = [],
        ekus: [ExtendedKeyUsage.Usage] = []
    ) throws {
        signer = try TestPKI.makeLeaf(commonName: commonName, key: .p256)
        csr = try TestPKI.makeCSR(
            commonName: commonName, dnsNames: dnsNames, upns: upns, uris: uris, ekus: ekus, key: signer.privateKey)
    }
}

/// A store whose `commitIssued` waits until the test releases it, so the test
/// can look at the service while an issuance is in flight.
final class GatedStore: ForwardingStore {
    let base: any ControlStore
    private let entered: AsyncStream<Void>.Continuation
    let enteredCommits: AsyncStream<Void>
    private let gate = Mutex<(isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    init(_ base: any ControlStore) {
        self.base = base
        (enteredCommits, entered) = AsyncStream.makeStream()
    }

    /// Ends `enteredCommits`, so a test waiting for a commit that never comes resumes.
    func stopSignalling() {
        entered.finish()
    }

    /// Lets every waiting and future commit through.
    func open() {
        let waiting = gate.withLock { gate in
            gate.isOpen = true
            defer { gate.waiting = [] }
            return gate.waiting
        }
        waiting.forEach { $0.resume() }
    }

    func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?, supersedes: String?) async throws {
        entered.yield()
        await withCheckedContinuation { continuation in
            let isOpen = gate.withLock { gate in
                if !gate.isOpen { gate.waiting.append(continuation) }
                return gate.isOpen
            }
            if isOpen { continuation.resume() }
        }
        try await base.commitIssued(certificate, enrollment: enrollment, audit: audit, supersedes: supersedes)
    }
}
