import Foundation
import SwiftASN1
import Testing
import X509
import ScepterControl
import ScepterProtocol
import ScepterTesting

@Suite("Control configuration from SCEPTER_* variables", .timeLimit(.minutes(5)))
struct ControlConfigurationTests {
    static func writeCA(_ name: String) throws -> (certificate: String, key: String) {
        let directory = try Shell.temporaryDirectory()
        let ca = try TestPKI.makeCA(commonName: name)
        let certificate = directory.appendingPathComponent("ca.pem").path
        let key = directory.appendingPathComponent("ca.key").path
        try SecretFiles.create(ca.certificatePEM, at: certificate, mode: 0o644)
        try SecretFiles.create(ca.keyPEM, at: key, mode: 0o600)
        return (certificate, key)
    }

    /// A self-signed CA certificate (CA:TRUE, pathlen 0) with `keyUsage`, and its key, as PEM.
    static func selfSignedCA(_ commonName: String, keyUsage: KeyUsage) throws -> (certificatePEM: String, keyPEM: String) {
        let key = Certificate.PrivateKey(TestPKI.rsa2048Key())
        let name = try DistinguishedName { CommonName(commonName) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: Date().addingTimeInterval(-60),
            notValidAfter: Date().addingTimeInterval(86_400), issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(keyUsage)
            }, issuerPrivateKey: key)
        return (try certificate.serializeAsPEM().pemString, try key.serializeAsPEM().pemString)
    }

    @Test func issuersAndPoliciesLoad() throws {
        let corp = try Self.writeCA("Corp CA")
        let iot = try Self.writeCA("IoT CA")
        var settings = Settings(environment: [
            "SCEPTER_ISSUERS": "corp-ca,iot-ca",
            "SCEPTER_ISSUER_CORP_CA_CA_CERT_PATH": corp.certificate,
            "SCEPTER_ISSUER_CORP_CA_CA_KEY_PATH": corp.key,
            "SCEPTER_ISSUER_IOT_CA_TYPE": "local",
            "SCEPTER_ISSUER_IOT_CA_CA_CERT_PATH": iot.certificate,
            "SCEPTER_ISSUER_IOT_CA_CA_KEY_PATH": iot.key,
            "SCEPTER_PROFILE_LAPTOPS_ISSUER": "corp-ca",
            "SCEPTER_PROFILE_LAPTOPS_CERT_VALIDITY": "90d",
            "SCEPTER_PROFILE_LAPTOPS_MAX_VALIDITY": "30d",
            "SCEPTER_PROFILE_LAPTOPS_ALLOWED_EKUS": "clientAuth, serverAuth, 1.3.6.1.4.1.311.20.2.2",
            "SCEPTER_PROFILE_LAPTOPS_KEY_USAGE": "digitalSignature, contentCommitment, KEYAGREEMENT",
            "SCEPTER_PROFILE_SENSORS_ISSUER": "IOT-CA",
            "SCEPTER_PROFILE_SENSORS_MIN_RSA_BITS": "3072",
        ])
        let profiles = ControlConfiguration.loadProfiles(&settings, profileNames: ["laptops", "sensors"])
        #expect(settings.problems.isEmpty, "\(settings.problems)")
        let laptops = try #require(profiles.first { $0.name == "laptops" })
        #expect(laptops.issuer.name == "corp-ca")
        #expect(laptops.policy.validity == .seconds(90 * 86_400))
        #expect(laptops.policy.maxValidity == .seconds(30 * 86_400))
        #expect(laptops.policy.allowedEKUs.count == 3)
        #expect(laptops.policy.allowedEKUs.contains(.serverAuth))
        #expect(laptops.policy.keyUsage == [.digitalSignature, .nonRepudiation, .keyAgreement])
        let sensors = try #require(profiles.first { $0.name == "sensors" })
        #expect(sensors.issuer.name == "iot-ca")
        #expect(sensors.policy.keyUsage == nil, "unset: the default")
        #expect(sensors.policy.minRSABits == 3072)
    }

    @Test func problemsNameTheirVariables() throws {
        let corp = try Self.writeCA("Corp CA")
        var settings = Settings(environment: [
            "SCEPTER_ISSUERS": "corp,hsm,missing",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": corp.certificate,
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": corp.key,
            "SCEPTER_ISSUER_HSM_TYPE": "pkcs11",
            "SCEPTER_ISSUER_MISSING_CA_CERT_PATH": "/nonexistent/ca.pem",
            "SCEPTER_PROFILE_P_ISSUER": "nosuch",
            "SCEPTER_PROFILE_P_ALLOWED_EKUS": "clientAuth,frobnicate",
            "SCEPTER_PROFILE_P_KEY_USAGE": "digitalSignature,keyCertSign",
            "SCEPTER_PROFILE_P_MIN_RSA_BITS": "1024",
            "SCEPTER_PROFILE_P_CERT_VALIDITY": "1 year",
        ])
        _ = ControlConfiguration.loadProfiles(&settings, profileNames: ["p"])
        #expect(Set(settings.problems.map(\.variable)) == [
            "SCEPTER_ISSUER_HSM_TYPE",
            "SCEPTER_ISSUER_MISSING_CA_KEY_PATH",
            "SCEPTER_PROFILE_P_ISSUER",
            "SCEPTER_PROFILE_P_ALLOWED_EKUS",
            "SCEPTER_PROFILE_P_KEY_USAGE",
            "SCEPTER_PROFILE_P_MIN_RSA_BITS",
            "SCEPTER_PROFILE_P_CERT_VALIDITY",
        ], "\(settings.problems)")
    }

    @Test("An issuer whose chain did not sign it, or whose CA cannot sign CRLs, is refused at start, naming the variable")
    func issuingCAIsCheckedAtStart() throws {
        let directory = try Shell.temporaryDirectory()
        func write(_ text: String, _ name: String, mode: Int = 0o644) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try SecretFiles.create(text, at: path, mode: mode)
            return path
        }
        let root = try TestPKI.makeCA(commonName: "Root")
        let stranger = try TestPKI.makeCA(commonName: "Stranger", keyUnlike: root)
        let issuing = try TestPKI.makeCA(commonName: "Issuing", issuer: root)
        // A CA certificate whose keyUsage allows certificates but not CRLs.
        let noCRL = try Self.selfSignedCA("No CRL CA", keyUsage: KeyUsage(keyCertSign: true))
        var settings = Settings(environment: [
            "SCEPTER_ISSUERS": "good,wrong-chain,no-crl",
            "SCEPTER_ISSUER_GOOD_CA_CERT_PATH": try write(issuing.certificatePEM, "issuing.pem"),
            "SCEPTER_ISSUER_GOOD_CA_KEY_PATH": try write(issuing.keyPEM, "issuing.key", mode: 0o600),
            "SCEPTER_ISSUER_GOOD_CHAIN_PATH": try write(root.certificatePEM, "root.pem"),
            "SCEPTER_ISSUER_WRONG_CHAIN_CA_CERT_PATH": directory.appendingPathComponent("issuing.pem").path,
            "SCEPTER_ISSUER_WRONG_CHAIN_CA_KEY_PATH": directory.appendingPathComponent("issuing.key").path,
            "SCEPTER_ISSUER_WRONG_CHAIN_CHAIN_PATH": try write(stranger.certificatePEM, "stranger.pem"),
            "SCEPTER_ISSUER_NO_CRL_CA_CERT_PATH": try write(noCRL.certificatePEM, "no-crl.pem"),
            "SCEPTER_ISSUER_NO_CRL_CA_KEY_PATH": try write(noCRL.keyPEM, "no-crl.key", mode: 0o600),
            "SCEPTER_PROFILE_P_ISSUER": "good",
        ])
        let (profiles, issuers) = ControlConfiguration.load(&settings, profileNames: ["p"])
        #expect(profiles.map(\.issuer.name) == ["good"])
        #expect(issuers.map(\.name) == ["good"])
        let problems = Dictionary(settings.problems.map { ($0.variable, $0.message) }, uniquingKeysWith: { first, _ in first })
        #expect(Set(problems.keys) == ["SCEPTER_ISSUER_WRONG_CHAIN_CHAIN_PATH", "SCEPTER_ISSUER_NO_CRL_CA_CERT_PATH"], "\(settings.problems)")
        #expect(problems["SCEPTER_ISSUER_WRONG_CHAIN_CHAIN_PATH"]?.contains("did not sign CN=Issuing") == true, "\(problems)")
        #expect(problems["SCEPTER_ISSUER_NO_CRL_CA_CERT_PATH"]?.contains("lacks cRLSign") == true, "\(problems)")
    }

    @Test("SCEPTER_OCSP_SIGNER=ca is refused for a CA whose keyUsage lacks digitalSignature; delegated is fine")
    func caSignedOCSPNeedsDigitalSignature() throws {
        let certificatesOnly = try Self.selfSignedCA("Certificates Only CA", keyUsage: KeyUsage(keyCertSign: true, cRLSign: true))
        let narrow = try LocalCA(name: "narrow", certificatePEM: certificatesOnly.certificatePEM, keyPEM: certificatesOnly.keyPEM)
        let usual = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Usual CA"), name: "usual")

        var settings = Settings(environment: ["SCEPTER_OCSP_SIGNER": "ca"])
        #expect(settings.ocspSigner(for: [usual, narrow]) == .ca)
        #expect(settings.problems.map(\.variable) == ["SCEPTER_OCSP_SIGNER"])
        #expect(settings.problems.first?.message.contains("issuer narrow's CA certificate lacks keyUsage digitalSignature") == true)
        for environment in [["SCEPTER_OCSP_SIGNER": "delegated"], [:]] {
            settings = Settings(environment: environment)
            #expect(settings.ocspSigner(for: [usual, narrow]) == .delegated)
            #expect(settings.problems.isEmpty)
        }
    }
}
