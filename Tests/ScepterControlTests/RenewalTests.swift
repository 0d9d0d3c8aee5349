import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("RenewalReq: the signer must be a valid certificate this profile issued", .timeLimit(.minutes(5)))
struct RenewalTests {
    /// Enrolls `device` with a PKCSReq and returns the certificate's DER.
    static func enroll(_ device: Device, in harness: IssuanceHarness, profile: String = "corp") async throws -> IssuedCertificate {
        try #require(try await harness.service.enroll(IssuanceHarness.job(device, profile: profile)).issued)
    }

    static func renew(signer: [UInt8], in harness: IssuanceHarness, profile: String = "corp", transactionID: String = UUID().uuidString)
        async throws -> EnrollmentDecision
    {
        try await harness.service.enroll(
            IssuanceHarness.job(try Device(), profile: profile, transactionID: transactionID, messageType: .renewalReq, signer: signer))
    }

    @Test("A renewal signed with a certificate this profile issued is issued, and recorded as a renewal")
    func validRenewal() async throws {
        try await IssuanceHarness.run { harness in
            let current = try await Self.enroll(try Device(), in: harness)

            let renewed = try #require(try await Self.renew(signer: current.certificate, in: harness, transactionID: "tx-renew").issued)

            #expect(renewed.serialNumber != current.serialNumber)
            #expect(try await harness.store.enrollments(profile: "corp", transactionID: "tx-renew").first?.messageType == "RenewalReq")
            #expect(harness.store.issuedCommits == 2)
            // The predecessor is superseded, not revoked, and cannot renew again.
            #expect(try await harness.store.certificate(serialNumber: current.serialNumber)?.status == .superseded)
            #expect(try await harness.store.revocation(serialNumber: current.serialNumber) == nil)
            let again = try await Self.renew(signer: current.certificate, in: harness)
            #expect(again.refusal?.outcome == .renewalInvalid)
            #expect(again.refusal?.reason.contains("superseded") == true)
        }
    }

    @Test("A renewal cannot change identity: another subject or other SANs than the signer's are refused")
    func renewalKeepsTheIdentity() async throws {
        try await IssuanceHarness.run { harness in
            let current = try await Self.enroll(try Device(commonName: "device-1", upns: ["alice@corp.example.com"]), in: harness)
            // RenewalReq skips the challenge gate: the signer certificate is the only credential.
            let otherSubject = try Device(commonName: "device-2", upns: ["alice@corp.example.com"])
            let otherSAN = try Device(commonName: "device-1", upns: ["administrator@corp.example.com"])

            for device in [otherSubject, otherSAN] {
                let decision = try await harness.service.enroll(
                    IssuanceHarness.job(device, messageType: .renewalReq, signer: current.certificate))
                let refusal = decision.refusal
                #expect(refusal != nil, "a renewal signed by device-1's certificate was issued for \(device.signer.certificate.subject)")
                #expect(refusal.map { [.renewalInvalid, .policyViolation].contains($0.outcome) } ?? false)
            }
            #expect(harness.store.issuedCommits == 1)
        }
    }

    @Test("A self-signed signer is renewal_invalid")
    func selfSignedSigner() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            let job = IssuanceHarness.job(device, messageType: .renewalReq)

            let refusal = try #require(try await harness.service.enroll(job).refusal)

            #expect(refusal.outcome == .renewalInvalid)
            #expect(harness.store.issuedCommits == 0)
        }
    }

    @Test("A signer from another CA with the same name is renewal_invalid, even if its serial is in the inventory")
    func impostorCA() async throws {
        try await IssuanceHarness.run { harness in
            let impostorIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity)
            #expect(impostorIdentity.certificate.subject == harness.caIdentity.certificate.subject)
            let impostor = try ControlFixtures.localCA(impostorIdentity, name: "corp-ca")
            let device = try Device()
            let forged = try impostor.issue(try CertificationRequest(derEncoded: device.csr), profile: CertificateProfile(), now: Date())
            let forgedDER = try ControlFixtures.der(forged)
            // Make the inventory agree, so only the signature check stands in the way.
            try await harness.store.commitIssued(
                CertificateRecord(
                    serialNumber: forged.serialNumber.hexString, issuer: "corp-ca", profile: "corp", subject: forged.subject.description,
                    subjectAlternativeNames: "", notBefore: forged.notValidBefore, notAfter: forged.notValidAfter,
                    transactionID: "tx-forged", deviceID: nil, der: forgedDER, createdAt: Date()),
                enrollment: ControlStoreContract.issuedEnrollment(serial: forged.serialNumber.hexString, transactionID: "tx-forged"))

            let refusal = try #require(try await Self.renew(signer: forgedDER, in: harness).refusal)

            #expect(refusal.outcome == .renewalInvalid)
            #expect(refusal.reason.contains("signature"), "\(refusal)")
        }
    }

    @Test("A certificate of this CA recorded under another profile is renewal_invalid here and valid there")
    func otherProfileOnTheSameCA() async throws {
        try await IssuanceHarness.run(profiles: ["corp": CertificateProfile(), "wifi": CertificateProfile()]) { harness in
            let wifi = try await Self.enroll(try Device(), in: harness, profile: "wifi")

            let refusal = try #require(try await Self.renew(signer: wifi.certificate, in: harness, profile: "corp").refusal)
            let renewedInWifi = try await Self.renew(signer: wifi.certificate, in: harness, profile: "wifi").issued

            #expect(refusal.outcome == .renewalInvalid)
            #expect(refusal.reason.contains("corp"), "\(refusal)")
            #expect(renewedInWifi != nil)
        }
    }

    @Test("An expired signer is renewal_invalid")
    func expiredSigner() async throws {
        try await IssuanceHarness.run(profiles: ["corp": CertificateProfile(validity: .seconds(86400))]) { harness in
            let current = try await Self.enroll(try Device(), in: harness)
            harness.clock.advance(by: 2 * 86400)

            let refusal = try #require(try await Self.renew(signer: current.certificate, in: harness).refusal)

            #expect(refusal.outcome == .renewalInvalid)
            #expect(refusal.reason.contains("validity"), "\(refusal)")
        }
    }

    @Test("A certificate this CA signed that is not in the inventory is renewal_invalid")
    func signerNotInInventory() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            let unrecorded = try harness.ca.issue(try CertificationRequest(derEncoded: device.csr), profile: CertificateProfile(), now: Date())

            let refusal = try #require(try await Self.renew(signer: try ControlFixtures.der(unrecorded), in: harness).refusal)

            #expect(refusal.outcome == .renewalInvalid)
        }
    }

    @Test("A signer whose inventory status is not active is renewal_invalid")
    func revokedSigner() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            let revoked = try harness.ca.issue(try CertificationRequest(derEncoded: device.csr), profile: CertificateProfile(), now: Date())
            let der = try ControlFixtures.der(revoked)
            try await harness.store.commitIssued(
                CertificateRecord(
                    serialNumber: revoked.serialNumber.hexString, issuer: "corp-ca", profile: "corp", subject: revoked.subject.description,
                    subjectAlternativeNames: "", notBefore: revoked.notValidBefore, notAfter: revoked.notValidAfter, status: .revoked,
                    transactionID: "tx-revoked", deviceID: nil, der: der, createdAt: Date()),
                enrollment: ControlStoreContract.issuedEnrollment(serial: revoked.serialNumber.hexString, transactionID: "tx-revoked"))

            let refusal = try #require(try await Self.renew(signer: der, in: harness).refusal)

            #expect(refusal.outcome == .renewalInvalid)
            #expect(refusal.reason.contains("revoked"), "\(refusal)")
        }
    }

    @Test("A signer that does not parse is renewal_invalid")
    func unparseableSigner() async throws {
        try await IssuanceHarness.run { harness in
            let refusal = try #require(try await Self.renew(signer: [0x30, 0x00], in: harness).refusal)
            #expect(refusal.outcome == .renewalInvalid)
        }
    }

    @Test("A renewal refusal is recorded: the retry gets the same answer")
    func renewalRefusalIsReplayed() async throws {
        try await IssuanceHarness.run { harness in
            let device = try Device()
            let job = IssuanceHarness.job(device, transactionID: "tx-bad-renewal", messageType: .renewalReq)

            let first = try #require(try await harness.service.enroll(job).refusal)
            let second = try #require(try await harness.service.enroll(job).refusal)

            #expect(first.outcome == .renewalInvalid)
            #expect(second == first)
            #expect(harness.store.rejectedCommits == 1)
        }
    }
}
