import Foundation
import HummingbirdTesting
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import Testing
import X509

/// GetCRL in `scepter dev` after the rollover docs/ca.md describes: the
/// default profile moved from the dev CA to the issuer `next`, the dev CA
/// still configured. The CRL answered is the named CA's.
@Suite("GetCRL after a CA rollover, embedded", .timeLimit(.minutes(2)))
struct GetCRLRolloverTests {
    struct Setup {
        let harness: EmbeddedHarness
        let next: TestPKI.Identity
        let directory: URL
    }

    static func setUp() async throws -> Setup {
        let directory = try Shell.temporaryDirectory()
        let next = try TestPKI.makeCA(commonName: "Scepter Next CA", key: .p256)
        let certificatePath = directory.appendingPathComponent("next.pem")
        let keyPath = directory.appendingPathComponent("next.key")
        try next.certificatePEM.write(to: certificatePath, atomically: true, encoding: .utf8)
        try next.keyPEM.write(to: keyPath, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: 0o600)], ofItemAtPath: keyPath.path)
        let harness = try await EmbeddedHarness.make(environment: [
            "SCEPTER_ISSUERS": "next",
            "SCEPTER_ISSUER_NEXT_CA_CERT_PATH": certificatePath.path,
            "SCEPTER_ISSUER_NEXT_CA_KEY_PATH": keyPath.path,
            "SCEPTER_PROFILES": "default",
            "SCEPTER_PROFILE_DEFAULT_ISSUER": "next",
            "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD": "rollover-secret",
        ])
        return Setup(harness: harness, next: next, directory: directory)
    }

    /// A GetCRL naming `issuer`, answered by the default profile.
    static func getCRL(_ issuer: DistinguishedName, transactionID: String, in setup: Setup) async throws -> SCEPClient.Reply {
        let signer = try TestDevice(commonName: "crl-reader", challenge: nil).signer.keyPair()
        var coder = DER.Serializer()
        try coder.serialize(IssuerAndSerial(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: [0x01])))
        let request = try SCEPClient.request(
            .getCRL, content: coder.serializedBytes, transactionID: transactionID, recipient: setup.harness.ra, signer: signer)
        return try SCEPClient.readReply(try await setup.harness.test { try await $0.pkiOperation(request).1 }, requester: signer)
    }

    /// openssl verifies `crl` under the CA in `caPEM`; returns its issuer line.
    static func verifiedIssuer(_ crl: [UInt8], caPEM: String, in directory: URL) async throws -> String {
        let crlPath = directory.appendingPathComponent("\(UUID().uuidString).crl")
        let caPath = directory.appendingPathComponent("\(UUID().uuidString).pem")
        try Shell.write(crl, to: crlPath)
        try caPEM.write(to: caPath, atomically: true, encoding: .utf8)
        let verified = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath.path, "-CAfile", caPath.path, "-noout", "-issuer")
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stderr.contains("verify OK"), "\(verified.stderr)")
        return verified.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("Naming the retired dev CA gets the dev CA's CRL; naming the current CA gets its own")
    func retiredAndCurrentCA() async throws {
        let setup = try await Self.setUp()
        let dev = try setup.harness.caCertificate

        let retired = try await Self.getCRL(dev.subject, transactionID: "tx-crl-dev", in: setup)
        #expect(retired.status == .success)
        let retiredCRL = try #require(retired.crls.first)
        let retiredIssuer = try await Self.verifiedIssuer(retiredCRL, caPEM: setup.harness.caPEM, in: setup.directory)
        #expect(retiredIssuer.contains("Scepter Development CA"), "\(retiredIssuer)")

        let current = try await Self.getCRL(setup.next.certificate.subject, transactionID: "tx-crl-next", in: setup)
        #expect(current.status == .success)
        let currentCRL = try #require(current.crls.first)
        #expect(try await Self.verifiedIssuer(currentCRL, caPEM: setup.next.certificatePEM, in: setup.directory).contains("Scepter Next CA"))
        #expect(retiredCRL != currentCRL)

        // A name re-encoded as a client may (another string type, case, spacing) still names the dev CA.
        let reencoded = try TestPKI.reencoded(dev.subject)
        #expect(reencoded != dev.subject)
        let again = try await Self.getCRL(reencoded, transactionID: "tx-crl-reencoded", in: setup)
        #expect(again.status == .success)
        _ = try await Self.verifiedIssuer(try #require(again.crls.first), caPEM: setup.harness.caPEM, in: setup.directory)

        let events = try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-crl-dev"))
        #expect(events.map(\.outcome) == [.success])
    }

    @Test("A GetCRL naming a CA no configured issuer has is FAILURE/badCertId, audited unknown_transaction naming the setting")
    func unknownCA() async throws {
        let setup = try await Self.setUp()
        let stranger = try DistinguishedName {
            OrganizationName("Elsewhere")
            CommonName("Somebody Else's CA")
        }
        let reply = try await Self.getCRL(stranger, transactionID: "tx-crl-stranger", in: setup)
        #expect(reply.status == .failure)
        #expect(reply.failInfo == .badCertID)
        #expect(reply.crls.isEmpty)
        let events = try await setup.harness.server.store.auditEvents(AuditQuery(transactionID: "tx-crl-stranger"))
        #expect(events.map(\.outcome) == [.unknownTransaction])
        let details = events.first?.details ?? ""
        #expect(details.contains("GetCRL names issuer"), "\(details)")
        #expect(details.contains("Somebody Else's CA"), "\(details)")
        #expect(details.contains("a CA profile default does not answer for (SCEPTER_ISSUERS, the profile's ISSUER)"), "\(details)")
    }
}
