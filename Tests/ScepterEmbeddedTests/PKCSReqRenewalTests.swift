import Foundation
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import Testing
import X509

/// A PKCSReq whose static challenge fails, signed with a certificate of the
/// profile's CA: that certificate's renewal, checked as a RenewalReq (how
/// certmonger and other NDES-era clients renew, with a challenge that may
/// have changed since).
@Suite("A PKCSReq signed with the certificate it renews", .timeLimit(.minutes(3)))
struct PKCSReqRenewalTests {
    /// The harness with one enrolled device: its certificate and key as a SCEP signer.
    static func enrolled(_ commonName: String, dnsNames: [String] = []) async throws -> (EmbeddedHarness, CertificateKeyPair, Certificate) {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(commonName: commonName, challenge: harness.server.challenge, dnsNames: dnsNames)
        let reply = try await harness.test { client in
            try SCEPClient.readReply(try await client.pkiOperation(try device.pkcsReq(ra: harness.ra)).1, requester: try device.signer.keyPair())
        }
        let issued = try #require(reply.certificates.first)
        let pair = try CertificateKeyPair(certificatePEM: PEM.encode(issued, label: "CERTIFICATE"), keyPEM: device.signer.keyPEM)
        return (harness, pair, try Certificate(derEncoded: issued))
    }

    /// A PKCSReq for `device`'s CSR, signed with `signer`.
    static func pkcsReq(_ harness: EmbeddedHarness, _ device: TestDevice, signer: CertificateKeyPair, transaction: String) async throws
        -> SCEPClient.Reply
    {
        let message = try SCEPClient.request(.pkcsReq, content: device.csr, transactionID: transaction, recipient: harness.ra, signer: signer)
        return try await harness.test { client in try SCEPClient.readReply(try await client.pkiOperation(message).1, requester: signer) }
    }

    static func event(_ harness: EmbeddedHarness, _ transaction: String) async throws -> AuditEvent {
        try #require(try await harness.server.store.auditEvents(AuditQuery(transactionID: transaction)).first)
    }

    @Test("A wrong challenge, and none at all: each renews the certificate that signed it, which is superseded")
    func wrongOrMissingChallengeRenews() async throws {
        let (harness, first, firstCertificate) = try await Self.enrolled("cm-renewer", dnsNames: ["cm-renewer.example.com"])

        // A new key, the old challenge (changed since), signed with the current certificate.
        let rekeyed = try TestDevice(commonName: "cm-renewer", challenge: "the-old-challenge", dnsNames: ["cm-renewer.example.com"])
        let renewed = try await Self.pkcsReq(harness, rekeyed, signer: first, transaction: "tx-wrong")
        #expect(renewed.status == .success)
        let second = try Certificate(derEncoded: try #require(renewed.certificates.first))
        #expect(second.serialNumber != firstCertificate.serialNumber && second.subject == firstCertificate.subject)
        #expect(try await harness.server.store.certificate(serialNumber: firstCertificate.serialNumber.hexString)?.status == .superseded)
        let event = try await Self.event(harness, "tx-wrong")
        #expect(event.outcome == .success && event.messageType == "PKCSReq")
        #expect(event.details.hasPrefix("PKCSReq taken as a renewal by its signer certificate"), "\(event.details)")

        // The renewed certificate renews in turn, with no challenge.
        let secondPair = try CertificateKeyPair(certificatePEM: try second.serializeAsPEM().pemString, keyPEM: rekeyed.signer.keyPEM)
        let again = try TestDevice(commonName: "cm-renewer", challenge: nil, dnsNames: ["cm-renewer.example.com"], signer: rekeyed.signer)
        #expect(try await Self.pkcsReq(harness, again, signer: secondPair, transaction: "tx-none").status == .success)

        // The superseded certificate renews no more.
        let late = try TestDevice(commonName: "cm-renewer", challenge: "the-old-challenge", dnsNames: ["cm-renewer.example.com"])
        let refused = try await Self.pkcsReq(harness, late, signer: first, transaction: "tx-late")
        #expect(refused.status == .failure && refused.failInfo == .badMessageCheck)
        let details = try await Self.event(harness, "tx-late").details
        #expect(details.contains("challengePassword does not match") && details.contains("as a renewal by its signer certificate"), "\(details)")
        #expect(details.contains("superseded"), "\(details)")
    }

    @Test("It renews only what a RenewalReq would: another subject or a new name stays challenge_invalid, unrecorded, with both reasons")
    func renewalChecksStillHold() async throws {
        let (harness, signer, _) = try await Self.enrolled("cm-narrow", dnsNames: ["cm-narrow.example.com"])
        for (transaction, device, problem) in [
            ("tx-other-subject", try TestDevice(commonName: "someone-else", challenge: "wrong", dnsNames: ["cm-narrow.example.com"]), "renewal asks for subject"),
            (
                "tx-new-name", try TestDevice(commonName: "cm-narrow", challenge: "wrong", dnsNames: ["cm-narrow.example.com", "extra.example.com"]),
                "renewal adds names"
            ),
        ] {
            let reply = try await Self.pkcsReq(harness, device, signer: signer, transaction: transaction)
            #expect(reply.status == .failure && reply.failInfo == .badRequest, "\(transaction)")
            let event = try await Self.event(harness, transaction)
            #expect(event.outcome == .challengeInvalid, "\(transaction)")
            #expect(event.details.hasPrefix("challengePassword does not match") && event.details.contains(problem), "\(event.details)")
            // Refused before the control plane: nothing pins the refusal to the transaction.
            #expect(try await harness.server.store.enrollments(profile: "default", transactionID: transaction).isEmpty)
        }
    }

    @Test("A signer that is self-signed or from another CA leaves a wrong challenge what it is: challenge_invalid")
    func otherSignersAreNotRenewals() async throws {
        let harness = try await EmbeddedHarness.make()
        let foreignCA = try TestPKI.makeCA(commonName: "Some Other CA")
        let foreignLeaf = try TestPKI.makeLeaf(commonName: "cm-foreign", issuer: foreignCA)
        let selfSigned = try TestPKI.makeLeaf(commonName: "cm-foreign")
        for (transaction, signer) in [("tx-foreign", foreignLeaf), ("tx-self-signed", selfSigned)] {
            let device = try TestDevice(commonName: "cm-foreign", challenge: "wrong", signer: signer)
            let reply = try await Self.pkcsReq(harness, device, signer: try signer.keyPair(), transaction: transaction)
            #expect(reply.status == .failure && reply.failInfo == .badRequest, "\(transaction)")
            let event = try await Self.event(harness, transaction)
            #expect(event.outcome == .challengeInvalid, "\(transaction)")
            #expect(event.details.contains("cannot renew") == (transaction == "tx-foreign"), "\(event.details)")
        }
    }
}
