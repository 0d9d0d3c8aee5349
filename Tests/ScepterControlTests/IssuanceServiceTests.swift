import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("IssuanceService: policy, issuance and idempotent commit", .timeLimit(.minutes(5)))
struct IssuanceServiceTests {
    @Test("An enrollment issues, answers the chain and records certificate and enrollment", arguments: [TestPKI.KeyKind.rsa2048, .p256])
    func enrollIssues(caKey: TestPKI.KeyKind) async throws {
        try await IssuanceHarness.run(caKey: caKey) { harness in
            let device = try Device(dnsNames: ["device-1.example.com"], upns: ["alice@corp.example.com"], uris: [ControlFixtures.sidURI])
            let claim = ClaimSummary(subject: "intune-device-42", issuer: "intune", deviceName: "LAPTOP-42")
            let job = IssuanceHarness.job(device, transactionID: "tx-issue", claim: claim)

            let issued = try #require(try await harness.service.enroll(job).issued)

            let certificate = try Certificate(derEncoded: issued.certificate)
            #expect(issued.serialNumber == certificate.serialNumber.hexString)
            #expect(issued.chain == [harness.caIdentity.certificateDER])
            #expect(certificate.publicKey == device.signer.privateKey.publicKey)
            #expect(harness.caIdentity.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))

            let record = try #require(try await harness.store.certificate(serialNumber: issued.serialNumber))
            #expect(record.der == issued.certificate)
            #expect(record.profile == "corp")
            #expect(record.issuer == "corp-ca")
            #expect(record.subject == certificate.subject.description)
            #expect(record.subjectAlternativeNames == "DNS:device-1.example.com,UPN:alice@corp.example.com,URI:\(ControlFixtures.sidURI)")
            #expect(record.notBefore == certificate.notValidBefore)
            #expect(record.notAfter == certificate.notValidAfter)
            #expect(record.status == .active)
            #expect(record.transactionID == "tx-issue")
            #expect(record.deviceID == "intune-device-42")

            let enrollment = try #require(try await harness.store.enrollments(profile: "corp", transactionID: "tx-issue").first)
            #expect(enrollment.status == .issued)
            #expect(enrollment.serialNumber == issued.serialNumber)
            #expect(enrollment.outcome == .success)
            #expect(enrollment.messageType == "PKCSReq")
            #expect(enrollment.csrSHA256 == IssuanceHarness.sha256Hex(device.csr))
            #expect(harness.store.issuedCommits == 1)

            let directory = try TemporaryDirectory()
            try directory.write(harness.caIdentity.certificatePEM, to: "ca.pem")
            try directory.write(PEM.encode(issued.certificate, label: "CERTIFICATE"), to: "leaf.pem")
            let verify = try await OpenSSLCommandLine.run(["verify", "-x509_strict", "-CAfile", "ca.pem", "leaf.pem"], in: directory)
            #expect(verify.succeeded, "\(verify)")
        }
    }

    @Test("A retry of the same transaction returns the same certificate and commits nothing new")
    func retryReturnsTheSameCertificate() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            let job = IssuanceHarness.job(device, transactionID: "tx-retry")

            let first = try #require(try await harness.service.enroll(job).issued)
            let second = try #require(try await harness.service.enroll(job).issued)

            #expect(second.serialNumber == first.serialNumber)
            #expect(second.certificate == first.certificate)
            #expect(second.chain == first.chain)
            #expect(harness.store.issuedCommits == 1)
            #expect(harness.store.conflicts == 0)
        }
    }

    @Test("The same key pair enrolling again under the same transactionID gets a new certificate; each CSR's retransmission its own")
    func sameTransactionOtherCSR() async throws {
        try await IssuanceHarness.run { harness in
            let first = IssuanceHarness.job(try Device(dnsNames: ["host.example.com"]), transactionID: "tx-key")
            let firstIssued = try #require(try await harness.service.enroll(first).issued)
            harness.clock.advance(by: 86_400)
            let second = IssuanceHarness.job(try Device(dnsNames: ["host.example.com", "vpn.example.com"]), transactionID: "tx-key")

            let secondIssued = try #require(try await harness.service.enroll(second).issued)

            #expect(secondIssued.serialNumber != firstIssued.serialNumber)
            #expect(harness.store.issuedCommits == 2)
            // Each request's retransmission still gets its own certificate.
            #expect(try await harness.service.enroll(first).issued == firstIssued)
            #expect(try await harness.service.enroll(second).issued == secondIssued)
            #expect(harness.store.issuedCommits == 2)
            // CertPoll answers for the newest request.
            #expect(try await harness.service.poll(profile: "corp", transactionID: "tx-key")?.issued == secondIssued)
        }
    }

    @Test("A new CSR under a transaction refused earlier goes through policy again")
    func newCSRAfterRefusal() async throws {
        try await IssuanceHarness.run(profiles: ["corp": CertificateProfile(allowedEKUs: [.clientAuth])]) { harness in
            let weak = IssuanceHarness.job(try Device(ekus: [.codeSigning]), transactionID: "tx-again")
            #expect(try await harness.service.enroll(weak).refusal?.outcome == .policyViolation)

            let strong = IssuanceHarness.job(try Device(), transactionID: "tx-again")
            #expect(try await harness.service.enroll(strong).issued != nil)
            #expect(try await harness.service.enroll(weak).refusal?.outcome == .policyViolation, "the first request's answer stands")
        }
    }

    @Test("20 concurrent enrollments of one transaction yield one certificate")
    func concurrentEnrollments() async throws {
        try await IssuanceHarness.run { harness in
            let job = IssuanceHarness.job(try Device(), transactionID: "tx-storm")

            let answers = try await withThrowingTaskGroup(of: IssuedCertificate?.self) { group in
                for _ in 0..<20 { group.addTask { try await harness.service.enroll(job).issued } }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(answers.count == 20)
            #expect(answers.allSatisfy { $0 != nil }, "every caller gets the certificate")
            #expect(Set(answers.compactMap { $0?.serialNumber }).count == 1)
            #expect(Set(answers.compactMap { $0?.certificate }).count == 1)
            #expect(harness.store.issuedCommits == 1)
        }
    }

    @Test("Two replicas over one store racing on a transaction agree on one certificate")
    func replicasAgree() async throws {
        try await IssuanceHarness.run { harness in
            let job = IssuanceHarness.job(try Device(), transactionID: "tx-replicas")
            let replicas = [harness.service, harness.replica()]

            let answers = try await withThrowingTaskGroup(of: IssuedCertificate?.self) { group in
                for index in 0..<20 { group.addTask { try await replicas[index % 2].enroll(job).issued } }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            #expect(answers.allSatisfy { $0 != nil })
            #expect(Set(answers.compactMap { $0?.serialNumber }).count == 1)
            #expect(harness.store.issuedCommits == 1)
        }
    }

    @Test("An unknown profile is rejected and nothing is recorded")
    func unknownProfile() async throws {
        try await IssuanceHarness.run { harness in
            let job = IssuanceHarness.job(try Device(), profile: "nope", transactionID: "tx-unknown")

            let refusal = try #require(try await harness.service.enroll(job).refusal)

            #expect(refusal.outcome == .policyViolation)
            #expect(refusal.reason.contains("nope"), "\(refusal)")
            #expect(try await harness.service.poll(profile: "nope", transactionID: "tx-unknown") == nil)
            #expect(harness.store.issuedCommits == 0)
        }
    }

    @Test("A policy rejection is recorded and replayed as the same rejection")
    func policyRejectionIsReplayed() async throws {
        try await IssuanceHarness.run(profiles: ["corp": CertificateProfile(allowedEKUs: [.clientAuth])]) { harness in
            let job = IssuanceHarness.job(try Device(ekus: [.codeSigning]), transactionID: "tx-eku")

            let first = try #require(try await harness.service.enroll(job).refusal)
            let second = try #require(try await harness.service.enroll(job).refusal)
            let polled = try #require(try await harness.service.poll(profile: "corp", transactionID: "tx-eku")?.refusal)

            #expect(first.outcome == .policyViolation)
            #expect(first.reason.contains("ALLOWED_EKUS"), "\(first)")
            #expect(second == first)
            #expect(polled == first)
            #expect(harness.store.rejectedCommits == 1)
            #expect(harness.store.issuedCommits == 0)
            let recorded = try #require(try await harness.store.enrollments(profile: "corp", transactionID: "tx-eku").first)
            #expect(recorded.status == .rejected)
            #expect(recorded.serialNumber == nil)
            #expect(recorded.outcome == .policyViolation)
        }
    }

    /// The edge verifies the self-signature (CertificationRequestTests,
    /// BadInputTests); the control plane, behind the authenticated internal
    /// API, only has to refuse bytes it cannot read.
    @Test("Bytes that are not a CSR are policy_violation and issue nothing")
    func brokenCSRs() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            var garbage = IssuanceHarness.job(device, transactionID: "tx-garbage")
            garbage.csr = [0x30, 0x03, 0x02, 0x01, 0x00]
            var truncated = IssuanceHarness.job(device, transactionID: "tx-truncated")
            truncated.csr = Array(device.csr.prefix(device.csr.count / 2))

            #expect(try await harness.service.enroll(garbage).refusal?.outcome == .policyViolation)
            #expect(try await harness.service.enroll(truncated).refusal?.outcome == .policyViolation)
            #expect(harness.store.issuedCommits == 0)
        }
    }

    /// Embedded mode hands the edge's parse over instead of parsing the CSR
    /// twice; the parse never outlives the bytes it came from.
    @Test("A job carrying the edge's parse of its CSR issues; the parse is dropped when the CSR changes and never sent over the internal API")
    func parsedCSRHandedOver() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device(dnsNames: ["handed-over.example.com"])
            let job = IssuanceHarness.job(device, transactionID: "tx-parsed", parsedCSR: try CertificationRequest(derEncoded: device.csr))
            #expect(job.parsedCSR?.derEncoded == device.csr)

            let issued = try #require(try await harness.service.enroll(job).issued)
            let record = try #require(try await harness.store.certificate(serialNumber: issued.serialNumber))
            #expect(record.subjectAlternativeNames == "DNS:handed-over.example.com")

            let sent = try InternalAPI.decoder().decode(EnrollmentRequest.self, from: try InternalAPI.encoder().encode(job))
            #expect(sent.csr == device.csr)
            #expect(sent.parsedCSR == nil)

            var changed = job
            changed.csr = try Device(commonName: "device-2").csr
            #expect(changed.parsedCSR == nil)
        }
    }

    @Test("The provisional audit row has the edge's event time (sent over the internal API), or the issuance's from an edge that sends none")
    func provisionalAuditTime() async throws {
        try await IssuanceHarness.run(start: Date(timeIntervalSince1970: 1_760_000_000)) { harness in
            let eventTime = Date(timeIntervalSince1970: 1_759_999_999.25)
            var job = IssuanceHarness.job(try Device(), transactionID: "tx-timed")
            job.auditEventID = "event-timed"
            job.auditEventTime = eventTime
            let sent = try InternalAPI.decoder().decode(EnrollmentRequest.self, from: try InternalAPI.encoder().encode(job))
            #expect(sent.auditEventTime == eventTime)
            _ = try #require(try await harness.service.enroll(sent).issued)

            var untimed = IssuanceHarness.job(try Device(), transactionID: "tx-untimed")
            untimed.auditEventID = "event-untimed"
            _ = try #require(try await harness.service.enroll(untimed).issued)

            let times = Dictionary(uniqueKeysWithValues: try await harness.store.auditEvents(AuditQuery()).map { ($0.id, $0.time) })
            #expect(times == ["event-timed": eventTime, "event-untimed": harness.clock.now])
        }
    }

    @Test("An issuer failure is not pinned to the transaction: a retry after the cause is gone issues")
    func issuerErrorIsNotPinned() async throws {
        let now = ControlFixtures.wholeSecondNow()
        let shortLived = try TestPKI.makeCA(notBefore: now.addingTimeInterval(-86400), notAfter: now.addingTimeInterval(86400))
        try await IssuanceHarness.run(caIdentity: shortLived, start: now.addingTimeInterval(2 * 86400)) { harness in
            let job = IssuanceHarness.job(try Device(), transactionID: "tx-ca-expired")

            let refusal = try #require(try await harness.service.enroll(job).refusal)
            #expect(refusal.outcome == .issuerError)
            #expect(try await harness.store.enrollments(profile: "corp", transactionID: "tx-ca-expired").first == nil)
            #expect(try await harness.service.poll(profile: "corp", transactionID: "tx-ca-expired") == nil)

            harness.clock.advance(by: -2 * 86400)
            #expect(try await harness.service.enroll(job).issued != nil)
        }
    }

    // MARK: Poll, GetCert, GetCACert, GetCRL

    @Test("poll: unknown is nil, issued is the certificate")
    func poll() async throws {
        try await IssuanceHarness.run { harness in
            #expect(try await harness.service.poll(profile: "corp", transactionID: "tx-never") == nil)

            let issued = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device(), transactionID: "tx-poll")).issued)

            let polled = try #require(try await harness.service.poll(profile: "corp", transactionID: "tx-poll")?.issued)
            #expect(polled == issued)
            #expect(try await harness.service.poll(profile: "wifi", transactionID: "tx-poll") == nil, "transactions belong to a profile")
        }
    }

    @Test("poll answers pending while the transaction is being committed")
    func pollWhileInFlight() async throws {
        let caIdentity = try TestPKI.makeCA(key: .p256)
        let ca = try ControlFixtures.localCA(caIdentity)
        try await IssuanceHarness.withStore { sqlite in
            let store = GatedStore(sqlite)
            let service = IssuanceService(
                configuration: ControlConfiguration(profiles: [.init(name: "corp", issuer: ca, policy: CertificateProfile())]),
                store: store, logger: ControlFixtures.logger)
            let job = IssuanceHarness.job(try Device(), transactionID: "tx-slow")

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { store.stopSignalling() }
                    let decision = try await service.enroll(job)
                    #expect(decision.issued != nil)
                }
                var entered = store.enteredCommits.makeAsyncIterator()
                let didEnter = await entered.next() != nil
                #expect(didEnter, "the enrollment never reached the commit")
                if didEnter {
                    #expect(try await service.poll(profile: "corp", transactionID: "tx-slow")?.isPending == true)
                    // Another CSR under the pending transaction waits its turn: refused, not recorded.
                    let other = try await service.enroll(IssuanceHarness.job(try Device(commonName: "device-2"), transactionID: "tx-slow"))
                    #expect(other.refusal?.outcome == .policyViolation)
                    #expect(other.refusal?.reason.contains("still pending") == true, "\(other)")
                }
                store.open()
                try await group.waitForAll()
            }
            #expect(try await service.poll(profile: "corp", transactionID: "tx-slow")?.issued != nil)
        }
    }

    @Test("GetCert finds a certificate only under the profile that issued it")
    func certificateLookupIsPerProfile() async throws {
        try await IssuanceHarness.run(profiles: ["corp": CertificateProfile(), "wifi": CertificateProfile()]) { harness in
            let issued = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device(), transactionID: "tx-get")).issued)

            let found = try await harness.service.certificate(profile: "corp", serialNumber: issued.serialNumber)
            #expect(found == issued)
            #expect(try await harness.service.certificate(profile: "wifi", serialNumber: issued.serialNumber) == nil)
            #expect(try await harness.service.certificate(profile: "nope", serialNumber: issued.serialNumber) == nil)
            #expect(try await harness.service.certificate(profile: "corp", serialNumber: "4242") == nil)
        }
    }

    @Test("caCertificates publishes the issuer, its intermediates and the next CA")
    func caCertificates() async throws {
        let root = try TestPKI.makeCA(commonName: "Root")
        let issuing = try TestPKI.makeCA(commonName: "Issuing", issuer: root)
        let next = try TestPKI.makeCA(commonName: "Issuing 2027", issuer: root)
        try await IssuanceHarness.run(caIdentity: issuing, chainPEM: root.certificatePEM, nextCA: next.certificateDER) { harness in
            let published = try await harness.service.caCertificates(profile: "corp")

            #expect(published.issuer == issuing.certificateDER)
            #expect(published.intermediates == [root.certificateDER])
            #expect(published.next == next.certificateDER)
            await #expect(throws: IssuanceUnavailable.self) { try await harness.service.caCertificates(profile: "nope") }

            // An issued certificate comes back with the whole chain, nearest first.
            let issued = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            #expect(issued.chain == [issuing.certificateDER, root.certificateDER])
        }
    }

    @Test("crl() is signed by the profile's CA, verifies with openssl, is reused until a revocation, and its number grows", arguments: [TestPKI.KeyKind.rsa2048, .p256])
    func crl(caKey: TestPKI.KeyKind) async throws {
        try await IssuanceHarness.run(caKey: caKey) { harness in
            let first = try #require(try await harness.service.crl(profile: "corp", naming: nil))
            let second = try #require(try await harness.service.crl(profile: "corp", naming: nil))

            let text = try await CRLBuilderTests.opensslCheck(crl: first, caPEM: harness.caIdentity.certificatePEM)
            #expect(text.contains("Issuer: CN = Scepter Test CA"), "\(text)")
            let parsedFirst = try ParsedCRL(derEncoded: first)
            let parsedSecond = try ParsedCRL(derEncoded: second)
            #expect(parsedFirst.issuer == harness.caIdentity.certificate.subject)
            #expect(parsedFirst.revoked == nil)
            #expect(second == first, "nothing revoked: the same CRL, not a new signature")
            #expect(try parsedSecond.crlNumber == parsedFirst.crlNumber)

            let issued = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            _ = try await harness.store.revoke(Revocation(serialNumber: issued.serialNumber, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })
            let third = try ParsedCRL(derEncoded: try #require(try await harness.service.crl(profile: "corp", naming: nil)))
            #expect(third.revoked?.count == 1)
            #expect(try #require(try third.crlNumber) > (try #require(try parsedFirst.crlNumber)))
            await #expect(throws: IssuanceUnavailable.self) { try await harness.service.crl(profile: "nope", naming: nil) }
        }
    }
}
