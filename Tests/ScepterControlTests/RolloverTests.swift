import Foundation
import Logging
import Synchronization
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// A CA rollover done as docs/ca.md says: the new CA under a new issuer
/// name, the old one still configured under its own, used by no profile.
@Suite("CA rollover", .timeLimit(.minutes(3)))
struct RolloverTests {
    @Test("A retired issuer no profile uses still serves its CRL, with its revocations, and its OCSP")
    func retiredIssuerStillPublishes() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)

            let nextIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA 2", key: .rsa2048)
            let next = try ControlFixtures.localCA(nextIdentity, name: "corp-ca-2")
            let configuration = ControlConfiguration(
                profiles: [ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile())], issuers: [harness.ca])
            let after = IssuanceService(configuration: configuration, store: harness.store, logger: ControlFixtures.logger)
            #expect(Set(configuration.issuers.keys) == ["corp-ca", "corp-ca-2"])

            // The old CA's certificate is revoked after the switch: the old CA's CRL lists it.
            _ = try await harness.store.revoke(
                Revocation(serialNumber: old.serialNumber, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })
            let oldCRL = try #require(try await after.crls.crl(issuer: "corp-ca"))
            let parsed = try ParsedCRL(derEncoded: oldCRL.der)
            #expect(parsed.issuer == harness.caIdentity.certificate.subject)
            #expect(parsed.revoked?.count == 1)
            let checked = try await CRLBuilderTests.opensslCheck(crl: oldCRL.der, caPEM: harness.caIdentity.certificatePEM)
            #expect(checked.contains("Issuer: CN = Scepter Test CA"), "\(checked)")
            #expect(after.ocsp.knows(issuer: "corp-ca"))

            // The new CA signs from now on, with its own, empty CRL.
            let new = try #require(try await after.enroll(IssuanceHarness.job(try Device())).issued)
            #expect(try Certificate(derEncoded: new.certificate).issuer == nextIdentity.certificate.subject)
            #expect(try ParsedCRL(derEncoded: try #require(try await after.crl(profile: "corp", naming: nil))).revoked == nil)
        }
    }

    @Test("After the switch a certificate of the retired CA renews under the new one; GetCert and a retransmission of it carry its own CA")
    func renewalAcrossTheSwitch() async throws {
        try await IssuanceHarness.run { harness in
            let old = try await RenewalTests.enroll(try Device(), in: harness)
            let nextIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA 2", key: .rsa2048)
            let next = try ControlFixtures.localCA(nextIdentity, name: "corp-ca-2")
            let profile = ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile())
            let after = IssuanceService(
                configuration: ControlConfiguration(profiles: [profile], issuers: [harness.ca]), store: harness.store, logger: ControlFixtures.logger)

            let stored = try #require(try await after.certificate(profile: "corp", serialNumber: old.serialNumber))
            #expect(stored.chain.first == harness.ca.certificateDER, "GetCert answers with the CA that issued it")

            let renewed = try #require(
                try await after.enroll(IssuanceHarness.job(try Device(), messageType: .renewalReq, signer: old.certificate)).issued,
                "a certificate of the retired CA could not renew")
            #expect(try Certificate(derEncoded: renewed.certificate).issuer == nextIdentity.certificate.subject)
            #expect(renewed.chain.first == next.certificateDER)

            // The retired CA's key (kept for its CRL) cannot mint a renewal: a certificate it signs
            // with the serial of one Scepter issued, for more names, is not that certificate.
            let victim = try await RenewalTests.enroll(try Device(), in: harness)
            let genuine = try Certificate(derEncoded: victim.certificate)
            let forgerKey = Certificate.PrivateKey(TestPKI.rsa2048Key())
            let forged = try Certificate(
                version: .v3, serialNumber: genuine.serialNumber, publicKey: forgerKey.publicKey, notValidBefore: genuine.notValidBefore,
                notValidAfter: genuine.notValidAfter, issuer: genuine.issuer, subject: genuine.subject,
                signatureAlgorithm: .sha256WithRSAEncryption,
                extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName("anything.example.com")]) },
                issuerPrivateKey: harness.caIdentity.privateKey)
            var serializer = DER.Serializer()
            try serializer.serialize(forged)
            let minted = try await after.enroll(
                IssuanceHarness.job(try Device(dnsNames: ["anything.example.com"]), messageType: .renewalReq, signer: serializer.serializedBytes))
            #expect(minted.refusal?.outcome == .renewalInvalid)
            #expect(minted.refusal?.reason.contains("is not the certificate this profile issued") == true, "\(String(describing: minted.refusal))")

            // Without the retired issuer configured, the renewal is refused, naming it.
            let forgotten = IssuanceService(
                configuration: ControlConfiguration(profiles: [profile]), store: harness.store, logger: ControlFixtures.logger)
            let other = try await RenewalTests.enroll(try Device(), in: harness)
            let refused = try await forgotten.enroll(IssuanceHarness.job(try Device(), messageType: .renewalReq, signer: other.certificate))
            #expect(refused.refusal?.outcome == .renewalInvalid)
            #expect(refused.refusal?.reason.contains("issuer corp-ca, which is no longer configured") == true, "\(String(describing: refused.refusal))")
        }
    }

    @Test("An issuer name whose CA was replaced under it is reported, naming the certificate and the setting")
    func replacedCAIsReported() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)

            let sameCA = Self.check([harness.ca], in: harness)
            #expect(await sameCA.round().problems.isEmpty)

            // The documented mistake: the same name, another CA's files.
            let replaced = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA 2", key: .rsa2048), name: "corp-ca")
            let unused = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Unused CA", key: .p256), name: "spare")
            let problems = await Self.check([replaced, unused], in: harness).round().problems
            #expect(problems.count == 1, "\(problems)")
            let problem = try #require(problems.first?.message)
            #expect(problem.contains(old.serialNumber))
            #expect(problem.contains("SCEPTER_ISSUER_CORP_CA_CA_CERT_PATH"))
            #expect(problem.contains("/crl/corp-ca.crl"))
        }
    }

    /// Waits until `condition` holds, checking every 10 ms, 20 s at most; records an issue naming `what` if it never does.
    static func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition(), "\(what)")
    }

    /// The check with these issuers configured, no profile using them.
    static func check(
        _ issuers: [LocalCA], in harness: IssuanceHarness, metrics: ControlMetrics? = nil, logger: Logger = ControlFixtures.logger,
        interval: Duration = .seconds(3600), now: @escaping @Sendable () -> Date = { Date() }
    ) -> IssuerContinuityCheck {
        IssuerContinuityCheck(
            configuration: ControlConfiguration(profiles: [], issuers: issuers), store: harness.store, metrics: metrics, logger: logger,
            interval: interval, now: now)
    }

    @Test("Checked every interval: a problem is logged once though its counts change, and the metric falls to 0 once the removed issuer's last certificate expires")
    func checkedAgain() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            let expiry = try Certificate(derEncoded: old.certificate).notValidAfter
            let successor = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA 2", key: .p256), name: "corp-ca-2026")
            // The clock passes the certificate's expiry once the test says so.
            let expired = Atomic(false)
            let recorded = RecordedWarnings()
            recorded.logLevel = .debug
            let metrics = ControlMetrics()
            let check = Self.check(
                [successor], in: harness, metrics: metrics, logger: Logger(label: "test") { _ in recorded }, interval: .milliseconds(20),
                now: { expired.load(ordering: .relaxed) ? expiry.addingTimeInterval(1) : Date() })
            let service = Task { try await check.run() }
            defer { service.cancel() }
            func rounds() -> Int { recorded.messages.filter { $0.contains("issuer continuity checked") }.count }
            try await Self.waitFor("a first round") { rounds() >= 1 }
            // Its counts change (1 active, 0 revoked → 0 active, 1 revoked): still the same problem.
            _ = try await harness.store.revoke(
                Revocation(serialNumber: old.serialNumber, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })
            let before = rounds()
            try await Self.waitFor("two rounds after the revocation") { rounds() >= before + 2 }
            expired.store(true, ordering: .relaxed)
            let series = #"scepter_issuer_unexpired_certificates{issuer="corp-ca",state="unconfigured"}"#
            try await Self.waitFor("the removed issuer's series at 0") { String(decoding: metrics.render(), as: UTF8.self).contains(series + " 0") }
            let warnings = recorded.messages.filter { $0.contains("issuer corp-ca is not in SCEPTER_ISSUERS") }
            #expect(warnings.count == 1, "\(warnings)")
        }
    }

    @Test("A round that cannot read the inventory is tried again soon, not an hour later")
    func unreadableInventoryIsRetried() async throws {
        try await IssuanceHarness.run { harness in
            _ = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            let store = FailingInventoryStore(harness.store, failures: 1)
            let metrics = ControlMetrics()
            let check = IssuerContinuityCheck(
                configuration: ControlConfiguration(profiles: [], issuers: []), store: store, metrics: metrics, logger: ControlFixtures.logger,
                interval: .seconds(3600), retry: .milliseconds(20))
            let service = Task { try await check.run() }
            defer { service.cancel() }
            let series = #"scepter_issuer_unexpired_certificates{issuer="corp-ca",state="unconfigured"} 1"#
            try await Self.waitFor("a second round, soon") { String(decoding: metrics.render(), as: UTF8.self).contains(series) }
            #expect(store.attempts >= 2)
        }
    }

    @Test("Two issuers whose CAs share a subject name are reported once, naming both and the option that avoids it")
    func sharedNameIsReported() async throws {
        try await IssuanceHarness.run { harness in
            let twin = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity), name: "corp-ca-2026")
            #expect(twin.certificate.subject == harness.ca.certificate.subject)
            let problems = await Self.check([harness.ca, twin], in: harness).round().problems
            #expect(problems.map(\.key.kind) == [.sharedName], "\(problems)")
            let message = try #require(problems.first?.message)
            #expect(message.contains("issuers corp-ca and corp-ca-2026"), "\(message)")
            #expect(message.contains("--ca-name"), "\(message)")
            // Three of one name are one problem naming all three.
            let third = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity), name: "corp-ca-2027")
            let three = await Self.check([harness.ca, twin, third], in: harness).round().problems
            #expect(three.map(\.message).filter { $0.contains("issuers corp-ca, corp-ca-2026 and corp-ca-2027") }.count == 1, "\(three)")
            #expect(three.count == 1, "\(three)")
        }
    }

    @Test("An issuer removed from SCEPTER_ISSUERS while its certificates are unexpired is reported, naming it and its last expiry")
    func removedIssuerIsReported() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            let successor = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA 2", key: .p256), name: "corp-ca-2026")
            let metrics = ControlMetrics()
            let problems = await Self.check([successor], in: harness, metrics: metrics).round().problems
            #expect(problems.count == 1, "\(problems)")
            let problem = try #require(problems.first?.message)
            #expect(problem.contains("issuer corp-ca is not in SCEPTER_ISSUERS"))
            #expect(problem.contains("1 unexpired certificate(s)"))
            #expect(problem.contains("\(try Certificate(derEncoded: old.certificate).notValidAfter)"))
            #expect(problem.contains("SCEPTER_ISSUER_CORP_CA_CA_CERT_PATH"))
            // The alert's metric, and the successor (configured, no certificates) at 0.
            let exported = String(decoding: metrics.render(), as: UTF8.self)
            #expect(exported.contains(#"scepter_issuer_unexpired_certificates{issuer="corp-ca",state="unconfigured"} 1"#), "\(exported)")
            #expect(exported.contains(#"scepter_issuer_unexpired_certificates{issuer="corp-ca-2026",state="retired"} 0"#), "\(exported)")

            // The admin API lists the name the inventory still holds, as unconfigured, beside the current issuer.
            let profile = ControlConfiguration.Profile(name: "corp", issuer: successor, policy: CertificateProfile())
            let listed = try await IssuerView.all(ControlConfiguration(profiles: [profile]), store: harness.store, now: Date())
            #expect(listed.map(\.name) == ["corp-ca", "corp-ca-2026"])
            #expect(listed.map(\.state) == [.unconfigured, .current])
            #expect(listed.first?.ca == nil)
            #expect(listed.first?.certificates.unexpired == 1)

            // Configured again (retired: no profile uses it), nothing to report.
            let both = Self.check([successor, harness.ca], in: harness)
            #expect(await both.round().problems.isEmpty)
            let retired = try await IssuerView.all(ControlConfiguration(profiles: [profile], issuers: [harness.ca]), store: harness.store, now: Date())
            #expect(retired.map(\.state) == [.retired, .current])
        }
    }
}

/// A store whose first `failures` inventory reads fail, as on a database that is away.
final class FailingInventoryStore: ForwardingStore, Sendable {
    let base: any ControlStore
    private let counted: Mutex<(attempts: Int, failures: Int)>

    init(_ base: any ControlStore, failures: Int) {
        self.base = base
        counted = Mutex((0, failures))
    }

    var attempts: Int { counted.withLock { $0.attempts } }

    func issuerInventory(now: Date) async throws -> [IssuerInventory] {
        let fail = counted.withLock { counted in
            counted.attempts += 1
            return counted.attempts <= counted.failures
        }
        if fail { throw IssuanceUnavailable("the database is away (a test)") }
        return try await base.issuerInventory(now: now)
    }
}
