import Foundation
import Testing
import SwiftASN1
import X509
@testable import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// A profile's RA split into a signing and an encryption certificate
/// (`RA_ENCRYPTION_CERT_PATH`, `RA_ENCRYPTION_KEY_PATH`), as NDES has it.
@Suite("Edge configuration: an RA split into signing and encryption certificates", .timeLimit(.minutes(2)))
struct SplitRAConfigurationTests {
    let directory: URL
    let ca: TestPKI.Identity

    init() throws {
        directory = try Shell.temporaryDirectory()
        ca = try TestPKI.makeCA()
    }

    /// Writes an RA pair `name`.pem / `name`.key with `usage`; returns the two paths.
    func pair(_ name: String, _ usage: KeyUsage, notAfter: Date = Date().addingTimeInterval(86_400)) throws -> (String, String) {
        let ra = try TestPKI.makeLeaf(commonName: name, issuer: ca, notAfter: notAfter, keyUsage: usage)
        let certificate = directory.appendingPathComponent("\(name).pem").path
        let key = directory.appendingPathComponent("\(name).key").path
        try SecretFiles.create(ra.certificatePEM, at: certificate, mode: 0o644)
        try SecretFiles.create(ra.keyPEM, at: key, mode: 0o600)
        return (certificate, key)
    }

    func load(
        signing: (String, String)?, encryption: (String?, String?), fallback: RAIdentity? = nil
    ) -> ([EdgeConfiguration.Profile], [String]) {
        var environment = ["SCEPTER_PROFILES": "ndes", "SCEPTER_PROFILE_NDES_CHALLENGE_PASSWORD": "static-challenge"]
        environment["SCEPTER_PROFILE_NDES_RA_CERT_PATH"] = signing?.0
        environment["SCEPTER_PROFILE_NDES_RA_KEY_PATH"] = signing?.1
        environment["SCEPTER_PROFILE_NDES_RA_ENCRYPTION_CERT_PATH"] = encryption.0
        environment["SCEPTER_PROFILE_NDES_RA_ENCRYPTION_KEY_PATH"] = encryption.1
        var settings = Settings(environment: environment)
        let profiles = EdgeConfiguration.loadProfiles(&settings, fallbacks: fallback.map { .init(ra: $0) })
        return (profiles, settings.problems.map(\.description))
    }

    @Test("Both pairs load, each in its part, GetCACert's list has both (signing first), and the expiry is the earlier one's")
    func loads() throws {
        let signing = try pair("signing", KeyUsage(digitalSignature: true))
        let encryption = try pair("encryption", KeyUsage(keyEncipherment: true), notAfter: Date().addingTimeInterval(3600))
        let (profiles, problems) = load(signing: signing, encryption: encryption)
        #expect(problems.isEmpty, "\(problems)")
        let ra = try #require(profiles.first?.ra)
        #expect(try Certificate(derEncoded: ra.signing.certificate).subject.description.contains("CN=signing"))
        #expect(try Certificate(derEncoded: ra.encryption.certificate).subject.description.contains("CN=encryption"))
        #expect(ra.certificates == [ra.signing.certificate, ra.encryption.certificate])
        // The expiry gauge and warning take the earlier of the two.
        let encryptionNotAfter = try Certificate(derEncoded: ra.encryption.certificate).notValidAfter
        #expect(ra.notAfter == encryptionNotAfter)
        // A signing certificate with digitalSignature only never decrypts.
        #expect(ra.decryptionPairs.map(\.certificate) == [ra.encryption.certificate])
        // The heartbeat shows both, each with its own notAfter.
        let settings = try #require(profiles.first?.settings)
        #expect(settings.ra.subject.contains("CN=encryption") && settings.raSigning?.subject.contains("CN=signing") == true, "\(settings)")
        #expect(settings.raNotAfter == encryptionNotAfter && settings.raSigning?.notAfter != encryptionNotAfter)
    }

    @Test("In scepter dev, encryption variables alone add an encryption certificate to the development RA, which still decrypts too")
    func devFallback() throws {
        let development = RAIdentity(try TestPKI.makeLeaf(commonName: "Dev RA", issuer: ca).keyPair())
        let encryption = try pair("encryption", KeyUsage(keyEncipherment: true))
        let (profiles, problems) = load(signing: nil, encryption: encryption, fallback: development)
        #expect(problems.isEmpty, "\(problems)")
        let ra = try #require(profiles.first?.ra)
        #expect(ra.signing.certificate == development.signing.certificate)
        #expect(try Certificate(derEncoded: ra.encryption.certificate).subject.description.contains("CN=encryption"))
        // The development RA has keyEncipherment: a client that encrypts to the first such certificate of
        // GetCACert (micromdm's) picks it, so it decrypts after the encryption pair.
        #expect(ra.decryptionPairs.map(\.certificate) == [ra.encryption.certificate, development.signing.certificate])
        let (single, _) = load(signing: nil, encryption: (nil, nil), fallback: development)
        #expect(single.first?.ra.certificates == development.certificates)
        #expect(single.first?.settings.raSigning == nil)
    }

    @Test("One of the two encryption variables alone is refused, naming the other")
    func halfAPairIsRefused() throws {
        let signing = try pair("signing", KeyUsage(digitalSignature: true))
        let encryption = try pair("encryption", KeyUsage(keyEncipherment: true))
        let (_, problems) = load(signing: signing, encryption: (encryption.0, nil))
        #expect(problems.contains { $0.contains("SCEPTER_PROFILE_NDES_RA_ENCRYPTION_KEY_PATH") && $0.contains("RA_ENCRYPTION_CERT_PATH") }, "\(problems)")
        let (_, keyOnly) = load(signing: signing, encryption: (nil, encryption.1))
        #expect(keyOnly.contains { $0.hasPrefix("SCEPTER_PROFILE_NDES_RA_ENCRYPTION_CERT_PATH") }, "\(keyOnly)")
    }

    @Test("A key usage that does not allow a certificate's part is refused, naming its variable")
    func keyUsageMustFitThePart() throws {
        let signingOnly = try pair("signing", KeyUsage(digitalSignature: true))
        let encryptionOnly = try pair("encryption", KeyUsage(keyEncipherment: true))
        // Swapped: the signing certificate cannot sign, the encryption one is not chosen by clients.
        let (_, problems) = load(signing: encryptionOnly, encryption: signingOnly)
        #expect(problems.contains { $0.hasPrefix("SCEPTER_PROFILE_NDES_RA_CERT_PATH") && $0.contains("without digitalSignature") }, "\(problems)")
        #expect(
            problems.contains { $0.hasPrefix("SCEPTER_PROFILE_NDES_RA_ENCRYPTION_CERT_PATH") && $0.contains("without keyEncipherment") }, "\(problems)")
        // One certificate for both is not checked for it: a single RA's key usage was never a refusal.
        let (_, single) = load(signing: encryptionOnly, encryption: (nil, nil))
        #expect(single.isEmpty, "\(single)")
    }

    @Test("An expired encryption certificate is refused, as an expired RA certificate is")
    func expiredEncryptionCertificate() throws {
        let signing = try pair("signing", KeyUsage(digitalSignature: true))
        let expired = try pair("expired", KeyUsage(keyEncipherment: true), notAfter: Date().addingTimeInterval(-60))
        let (profiles, problems) = load(signing: signing, encryption: expired)
        #expect(profiles.isEmpty)
        #expect(
            problems.contains { $0.hasPrefix("SCEPTER_PROFILE_NDES_RA_ENCRYPTION_CERT_PATH") && $0.contains("expired on") && $0.contains("encrypt") },
            "\(problems)")
    }
}
