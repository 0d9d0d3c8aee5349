import Foundation
import Testing
import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// The compliance webhook's preflight: https unless loopback, and a signing
/// secret of at least 32 bytes read like every other secret.
@Suite("Compliance webhook configuration", .timeLimit(.minutes(5)))
struct ComplianceConfigurationTests {
    static let secret = String(repeating: "s", count: 32)

    static func load(_ extra: [String: String], mode: String = "signed-challenge") throws -> ([EdgeConfiguration.Profile], [ConfigurationProblem]) {
        let files = try EdgeConfigurationTests.files.get()
        var environment = [
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "pw",
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": mode,
        ]
        if mode == "signed-challenge" { environment["SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH"] = files.anchors }
        environment.merge(extra) { _, extra in extra }
        return EdgeConfigurationTests.load(environment)
    }

    @Test(arguments: [
        "https://compliance.corp.example/check", "http://127.0.0.1:8443/check", "http://127.8.9.10/check", "http://localhost:9/check",
        "http://LOCALHOST/check", "http://[::1]:8080/check",
    ])
    func httpsOrLoopbackIsAccepted(url: String) throws {
        let (profiles, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": url])
        #expect(problems.isEmpty, "\(problems)")
        #expect(profiles.first?.intune?.compliance?.url == url)
        #expect(profiles.first?.intune?.compliance?.signature == nil)
    }

    @Test(arguments: [
        "http://compliance.corp.example/check", "http://10.0.0.8/check", "http://128.0.0.1/check", "http://127.0.0.1.nip.io/check",
        "http://[::2]/check", "http://localhost.corp.example/check",
    ])
    func plainHTTPToAnotherHostIsRefused(url: String) throws {
        let (_, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": url])
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL"], "\(problems)")
        #expect(problems.first?.message.contains("use https://") == true, "\(problems)")
    }

    @Test(arguments: ["ftp://compliance.corp.example/", "compliance.corp.example", "https://", "HTTPS://compliance.corp.example/"])
    func notAnHTTPURLIsRefused(url: String) throws {
        let (_, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": url])
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL"], "\(problems)")
    }

    @Test func aSecretOf32BytesSigns() async throws {
        let (profiles, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "https://compliance.corp.example/check",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": Self.secret,
        ])
        #expect(problems.isEmpty, "\(problems)")
        let signature = try #require(profiles.first?.intune?.compliance?.signature)
        // Timestamp, a dot, then the body, under the secret.
        #expect(
            signature.signature(timestamp: 1_700_000_000, body: Array("{}".utf8))
                == "sha256=" + (try await Self.opensslHMAC(secret: Self.secret, message: "1700000000.{}")))
    }

    @Test func aShortSecretIsRefusedWithoutShowingIt() throws {
        let (_, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "https://compliance.corp.example/check",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": "thirty-one-bytes-is-one-too-few",
        ])
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET"], "\(problems)")
        #expect(problems.first?.message.contains("31 bytes") == true, "\(problems)")
        #expect(!ConfigurationError(problems).description.contains("thirty-one"))
    }

    @Test func theSecretFileMustBeOwnerOnly() throws {
        let files = try EdgeConfigurationTests.files.get()
        let owned = files.directory.appendingPathComponent("compliance-\(UUID().uuidString)").path
        try SecretFiles.create(Self.secret + "\n", at: owned, mode: 0o600)
        let (profiles, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "https://compliance.corp.example/check",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET_FILE": owned,
        ])
        #expect(problems.isEmpty, "\(problems)")
        #expect(profiles.first?.intune?.compliance?.signature != nil)

        let loose = files.directory.appendingPathComponent("compliance-\(UUID().uuidString)").path
        try SecretFiles.create(Self.secret, at: loose, mode: 0o644)
        let (_, refused) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "https://compliance.corp.example/check",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET_FILE": loose,
        ])
        #expect(refused.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET_FILE"], "\(refused)")
        #expect(refused.first?.message.contains("chmod 600") == true, "\(refused)")
    }

    @Test func aSecretWithoutAWebhookOrOnAnotherModeIsRefused() throws {
        let (_, alone) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": Self.secret])
        #expect(alone.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET"], "\(alone)")
        for mode in ["off", "intune-api"] {
            let (_, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": Self.secret], mode: mode)
            #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET"], "\(mode): \(problems)")
        }
    }

    /// An independent HMAC: `openssl dgst -hmac` over the same bytes.
    static func opensslHMAC(secret: String, message: String) async throws -> String {
        let file = try Shell.temporaryDirectory().appendingPathComponent("message")
        try Data(message.utf8).write(to: file)
        let run = try await Shell.openssl("dgst", "-sha256", "-hmac", secret, file.path)
        return String(run.stdout.split(separator: " ").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
