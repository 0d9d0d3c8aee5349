import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("CRLBuilder signs v2 CRLs that openssl accepts", .timeLimit(.minutes(5)))
struct CRLBuilderTests {
    /// Asks openssl to verify `crl` against `ca`, and returns its text dump.
    static func opensslCheck(crl: [UInt8], caPEM: String) async throws -> String {
        let directory = try TemporaryDirectory()
        try directory.write(caPEM, to: "ca.pem")
        try directory.write(crl, to: "ca.crl")
        let verify = try await OpenSSLCommandLine.run(["crl", "-inform", "DER", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout"], in: directory)
        #expect(verify.succeeded, "\(verify)")
        #expect(verify.standardError.contains("verify OK"), "\(verify)")
        let text = try await OpenSSLCommandLine.run(["crl", "-inform", "DER", "-in", "ca.crl", "-noout", "-text"], in: directory)
        #expect(text.succeeded, "\(text)")
        return text.standardOutput
    }

    @Test("An empty CRL verifies with openssl, names the CA as issuer and has no revokedCertificates", arguments: [TestPKI.KeyKind.rsa2048, .p256])
    func emptyCRL(caKey: TestPKI.KeyKind) async throws {
        let identity = try TestPKI.makeCA(commonName: "Scepter CRL CA", key: caKey)
        let ca = try ControlFixtures.localCA(identity)
        let now = ControlFixtures.wholeSecondNow()

        let der = try CRLBuilder.build(ca: ca, revoked: [], crlNumber: 7, now: now)

        let text = try await Self.opensslCheck(crl: der, caPEM: identity.certificatePEM)
        #expect(text.contains("Issuer: CN = Scepter CRL CA"), "\(text)")
        #expect(text.contains("No Revoked Certificates"), "\(text)")

        let crl = try ParsedCRL(derEncoded: der)
        #expect(crl.version == 1, "v2 CRL")
        #expect(crl.issuer == identity.certificate.subject)
        #expect(crl.revoked == nil, "revokedCertificates must be absent when empty (RFC 5280 §5.1.2.6)")
        #expect(crl.tbsSignatureAlgorithm == crl.signatureAlgorithm)
        #expect(crl.tbsSignatureHasNullParameters == (caKey == .rsa2048), "NULL parameters for RSA only (RFC 5758 §3.2)")
        #expect(crl.thisUpdate.date == now)
        #expect(crl.nextUpdate?.date == now.addingTimeInterval(7 * 86400))
        #expect(try crl.crlNumber == 7)
        #expect(try crl.authorityKeyIdentifier == identity.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
    }

    @Test("Revoked serials appear with their dates; openssl still verifies", arguments: [TestPKI.KeyKind.rsa2048, .p256])
    func revokedSerials(caKey: TestPKI.KeyKind) async throws {
        let identity = try TestPKI.makeCA(key: caKey)
        let ca = try ControlFixtures.localCA(identity)
        let request = try ControlFixtures.request(key: try ControlFixtures.DeviceKey.p256.make())
        let now = ControlFixtures.wholeSecondNow()
        let issued = try (0..<3).map { _ in try ca.issue(request, profile: CertificateProfile(), now: now).serialNumber }
        // Real serials, one with the high bit set (needs a 0x00 pad), one odd-length.
        let serials = issued.map(\.hexString) + ["ff01", "abc"]
        let revoked = serials.enumerated().map {
            RevocationEntry(serialNumber: $1, revokedAt: now.addingTimeInterval(-Double($0 + 1) * 3600), reason: .unspecified, actor: "test")
        }

        let der = try CRLBuilder.build(ca: ca, revoked: revoked, crlNumber: 42, now: now)

        let text = try await Self.opensslCheck(crl: der, caPEM: identity.certificatePEM)
        for serial in serials {
            let shown = (serial.count % 2 == 1 ? "0" : "") + serial.uppercased()
            #expect(text.contains("Serial Number: \(shown)"), "openssl does not list \(shown): \(text)")
        }
        let crl = try ParsedCRL(derEncoded: der)
        let entries = try #require(crl.revoked)
        #expect(entries.map(\.serialContent) == issued.map { Array($0.bytes) } + [[0x00, 0xFF, 0x01], [0x0A, 0xBC]])
        #expect(entries.map(\.revocationDate.date) == revoked.map(\.revokedAt))
        #expect(try crl.crlNumber == 42)
    }

    @Test("CRL times before 2050 are UTCTime (RFC 5280 §5.1.2.4–6)")
    func timesAreUTCTimeBefore2050() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let now = ControlFixtures.wholeSecondNow()

        let der = try CRLBuilder.build(ca: ca, revoked: [RevocationEntry(serialNumber: "01", revokedAt: now, reason: .unspecified, actor: "test")], crlNumber: 1, now: now)

        let crl = try ParsedCRL(derEncoded: der)
        #expect(crl.thisUpdate.isUTCTime, "thisUpdate MUST be UTCTime through 2049")
        #expect(crl.nextUpdate?.isUTCTime == true, "nextUpdate MUST be UTCTime through 2049")
        #expect(crl.revoked?.first?.revocationDate.isUTCTime == true, "revocationDate MUST be UTCTime through 2049")
    }

    @Test("A CRL signed by one CA does not verify against another with the same name")
    func wrongCAFailsVerification() async throws {
        let identity = try TestPKI.makeCA(commonName: "Same Name")
        let impostor = try TestPKI.makeCA(commonName: "Same Name", keyUnlike: identity)
        let der = try CRLBuilder.build(ca: try ControlFixtures.localCA(impostor), revoked: [], crlNumber: 1, now: Date())

        let directory = try TemporaryDirectory()
        try directory.write(identity.certificatePEM, to: "ca.pem")
        try directory.write(der, to: "ca.crl")
        let verify = try await OpenSSLCommandLine.run(["crl", "-inform", "DER", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout"], in: directory)

        #expect(!verify.standardError.contains("verify OK"), "\(verify)")
    }
}
