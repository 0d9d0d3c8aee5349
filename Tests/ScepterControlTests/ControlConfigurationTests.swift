import Foundation
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
}
