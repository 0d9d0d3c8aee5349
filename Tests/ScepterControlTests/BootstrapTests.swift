import Foundation
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("PKIBootstrap makes CA and RA pairs the rest of Scepter accepts", .timeLimit(.minutes(5)))
struct PKIBootstrapTests {
    @Test("makeRootCA + makeRA: LocalCA takes the CA, CertificateKeyPair the RA, openssl verifies both", arguments: PKIBootstrap.KeyAlgorithm.allCases)
    func rootAndRA(algorithm: PKIBootstrap.KeyAlgorithm) async throws {
        let now = ControlFixtures.wholeSecondNow()
        let root = try await Shell.offPool { try PKIBootstrap.makeRootCA(commonName: "Scepter Root", algorithm: algorithm, now: now) }
        let ra = try await Shell.offPool { try PKIBootstrap.makeRA(commonName: "Scepter RA", ca: root, now: now) }

        let ca = try LocalCA(name: "dev", certificatePEM: root.certificatePEM, keyPEM: root.keyPEM)
        let raPair = try CertificateKeyPair(certificatePEM: ra.certificatePEM, keyPEM: ra.keyPEM)
        let raCertificate = try Certificate(derEncoded: raPair.certificate)

        #expect(ca.certificate.notValidAfter == now.addingTimeInterval(10 * 365 * 86400))
        #expect(ca.certificate.issuer == ca.certificate.subject)
        #expect(raCertificate.issuer == ca.certificate.subject)
        #expect(try raCertificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try raCertificate.extensions.keyUsage?.keyEncipherment == true, "clients encrypt to the RA")
        #expect(
            try raCertificate.extensions.authorityKeyIdentifier?.keyIdentifier
                == ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
        #expect(raCertificate.notValidAfter <= ca.certificate.notValidAfter)

        // The CA issues, and everything chains up under openssl's strict checks.
        let leaf = try ca.issue(
            try ControlFixtures.request(dnsNames: ["device-1.example.com"], key: try ControlFixtures.DeviceKey.p256.make()),
            profile: CertificateProfile(), now: now)
        let directory = try TemporaryDirectory()
        try directory.write(root.certificatePEM, to: "ca.pem")
        try directory.write(ra.certificatePEM, to: "ra.pem")
        try directory.write(try ControlFixtures.pem(leaf), to: "leaf.pem")
        let verify = try await OpenSSLCommandLine.run(
            ["verify", "-x509_strict", "-CAfile", "ca.pem", "ca.pem", "ra.pem", "leaf.pem"], in: directory)
        #expect(verify.succeeded, "\(verify)")
        let keyCheck = try await OpenSSLCommandLine.run(["x509", "-in", "ca.pem", "-noout", "-text"], in: directory)
        let expectedKey =
            switch algorithm {
            case .rsa: "Public-Key: (3072 bit)"
            case .rsa2048: "Public-Key: (2048 bit)"
            case .ecdsa: "NIST CURVE: P-256"
            }
        #expect(keyCheck.standardOutput.contains(expectedKey), "\(keyCheck)")
    }

    @Test("An RA made for one CA does not load as that CA")
    func raIsNotACA() throws {
        let root = try PKIBootstrap.makeRootCA(commonName: "Scepter Root", algorithm: .ecdsa)
        let ra = try PKIBootstrap.makeRA(commonName: "Scepter RA", ca: root)

        #expect(throws: LocalCA.LoadError.self) { try LocalCA(name: "dev", certificatePEM: ra.certificatePEM, keyPEM: ra.keyPEM) }
    }
}

@Suite("SecretFiles guards key files", .timeLimit(.minutes(5)))
struct SecretFilesTests {
    @Test("A 0644 key file is refused, naming the setting and the chmod that fixes it")
    func worldReadableKeyIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("-----BEGIN PRIVATE KEY-----\n", to: "ca.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)

        let problem = #expect(throws: SecretFiles.Problem.self) {
            try SecretFiles.readSecret(at: path, setting: "SCEPTER_ISSUER_CORP_CA_KEY_PATH")
        }

        let message = problem?.description ?? ""
        #expect(message.contains("SCEPTER_ISSUER_CORP_CA_KEY_PATH"), "\(message)")
        #expect(message.contains("chmod 600"), "\(message)")
        #expect(message.contains(path), "\(message)")
    }

    @Test("Group-writable and other-readable modes are refused too", arguments: [0o640, 0o620, 0o604, 0o660])
    func anyGroupOrOtherBitIsRefused(mode: Int) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("key", to: "ca.key")
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)

        #expect(throws: SecretFiles.Problem.self) { try SecretFiles.readSecret(at: path, setting: "X_KEY_PATH") }
    }

    @Test("A key reached through a symlink is judged by its target, as Kubernetes Secret volumes mount it")
    func symlinkToPrivateKeyIsRead() throws {
        let directory = try TemporaryDirectory()
        // kubelet's layout: ra.key -> ..data/ra.key, ..data -> ..2026_01_01_00_00_00.0000, files 0600 (defaultMode: 0600).
        try FileManager.default.createDirectory(atPath: directory.path("..2026_01_01_00_00_00.0000"), withIntermediateDirectories: false)
        let target = try directory.write("secret key text", to: "..2026_01_01_00_00_00.0000/ra.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
        try FileManager.default.createSymbolicLink(atPath: directory.path("..data"), withDestinationPath: "..2026_01_01_00_00_00.0000")
        try FileManager.default.createSymbolicLink(atPath: directory.path("ra.key"), withDestinationPath: "..data/ra.key")

        #expect(
            try SecretFiles.readSecret(at: directory.path("ra.key"), setting: "SCEPTER_PROFILE_CORP_RA_KEY_PATH") == "secret key text")
    }

    @Test("A symlink to a world-readable key is refused")
    func symlinkToWorldReadableKeyIsRefused() throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("secret key text", to: "real.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target)
        try FileManager.default.createSymbolicLink(atPath: directory.path("ra.key"), withDestinationPath: target)

        #expect(throws: SecretFiles.Problem.self) { try SecretFiles.readSecret(at: directory.path("ra.key"), setting: "X_KEY_PATH") }
    }

    @Test("A 0600 key file is read")
    func privateKeyIsRead() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("secret key text", to: "ca.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)

        #expect(try SecretFiles.readSecret(at: path, setting: "X_KEY_PATH") == "secret key text")
    }

    @Test("A missing key file names the setting")
    func missingKeyFile() throws {
        let directory = try TemporaryDirectory()
        let problem = #expect(throws: SecretFiles.Problem.self) {
            try SecretFiles.readSecret(at: directory.path("absent.key"), setting: "SCEPTER_PROFILE_CORP_RA_KEY_PATH")
        }
        #expect(problem?.description.contains("SCEPTER_PROFILE_CORP_RA_KEY_PATH") == true)
    }

    @Test("create writes with the given mode, and readSecret accepts the result")
    func createWritesPrivately() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("ca.key")

        try SecretFiles.create("generated key", at: path, mode: 0o600)

        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
        #expect(mode & 0o777 == 0o600, "mode is \(String(mode, radix: 8))")
        #expect(try SecretFiles.readSecret(at: path, setting: "X_KEY_PATH") == "generated key")
    }

    @Test("create refuses to overwrite an existing file and leaves it as it was")
    func createRefusesToOverwrite() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("original", to: "ca.key")

        let problem = #expect(throws: SecretFiles.Problem.self) { try SecretFiles.create("replacement", at: path, mode: 0o600) }

        #expect(problem?.description.contains("refusing to overwrite") == true, "\(String(describing: problem))")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "original")
    }

    @Test("readPublic reads a certificate whatever its mode, and names the setting when absent")
    func readPublic() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("cert", to: "ca.pem")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)

        #expect(try SecretFiles.readPublic(at: path, setting: "X_CERT_PATH") == "cert")
        let problem = #expect(throws: SecretFiles.Problem.self) {
            try SecretFiles.readPublic(at: directory.path("absent.pem"), setting: "X_CERT_PATH")
        }
        #expect(problem?.description.contains("X_CERT_PATH") == true)
    }
}
