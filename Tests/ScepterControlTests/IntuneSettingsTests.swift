import Foundation
import Logging
import Testing
import ScepterControl
import ScepterProtocol
import ScepterTesting

/// Preflight of `INTUNE_MODE=intune-api` on the control plane: every problem
/// at once, each naming its variable; secrets only from owner-only files.
@Suite("Control configuration: intune-api credentials", .timeLimit(.minutes(5)))
struct IntuneSettingsTests {
    static let ca = Result { try ControlConfigurationTests.writeCA("Corp CA") }

    static func load(_ extra: [String: String]) throws -> ([ControlConfiguration.Profile], [ConfigurationProblem]) {
        let ca = try Self.ca.get()
        var environment = [
            "SCEPTER_ISSUERS": "corp",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": ca.certificate,
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": ca.key,
        ]
        for (key, value) in extra { environment[key] = value }
        var settings = Settings(environment: environment)
        let profiles = ControlConfiguration.loadProfiles(&settings, profileNames: ["corp"])
        _ = IntuneOptions.load(&settings)
        return (profiles, settings.problems)
    }

    @Test func aSecretProfileLoadsWithMicrosoftsDefaults() throws {
        let (profiles, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID": "contoso.onmicrosoft.com",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET": "secret",
        ])
        #expect(problems.isEmpty, "\(problems)")
        let settings = try #require(profiles.first?.intuneAPI)
        #expect(settings.loginURL == "https://login.microsoftonline.com")
        #expect(settings.graphURL == "https://graph.microsoft.com")
        #expect(settings.timeout == .seconds(10))
    }

    @Test func everyProblemNamesItsVariable() throws {
        let (_, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET": "secret",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH": "/etc/app.pem",
            "SCEPTER_PROFILE_CORP_INTUNE_LOGIN_URL": "login.microsoftonline.com",
            "SCEPTER_PROFILE_CORP_INTUNE_TIMEOUT": "ten seconds",
            "SCEPTER_INTUNE_REVOCATION_INTERVAL": "often",
        ])
        #expect(Set(problems.map(\.variable)) == [
            "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET",
            "SCEPTER_PROFILE_CORP_INTUNE_LOGIN_URL",
            "SCEPTER_PROFILE_CORP_INTUNE_TIMEOUT",
            "SCEPTER_INTUNE_REVOCATION_INTERVAL",
        ], "\(problems)")
        #expect(!problems.description.contains("secret\""), "the secret's value is never echoed")
    }

    @Test func aSecretFileReadableByOthersIsRefused() throws {
        let directory = try Shell.temporaryDirectory()
        let path = directory.appendingPathComponent("secret").path
        try SecretFiles.create("secret\n", at: path, mode: 0o644)
        let (_, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID": "t",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID": "c",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET_FILE": path,
        ])
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET_FILE"], "\(problems)")
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefused() throws {
        let directory = try Shell.temporaryDirectory()
        let app = try TestPKI.makeCA(commonName: "app")
        let other = try TestPKI.makeCA(commonName: "other", keyUnlike: app)
        let certificate = directory.appendingPathComponent("app.pem").path
        let key = directory.appendingPathComponent("other.key").path
        try SecretFiles.create(app.certificatePEM, at: certificate, mode: 0o644)
        try SecretFiles.create(other.keyPEM, at: key, mode: 0o600)
        let (_, problems) = try Self.load([
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID": "t",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID": "c",
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH": certificate,
            "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_KEY_PATH": key,
        ])
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_CLIENT_KEY_PATH"], "\(problems)")
    }

    /// An app registration certificate that is expired or not yet valid is refused; a valid one's notAfter
    /// is published, with a warning at start within 30 days, beside the issuer's.
    @Test func theClientCertificatesValidityIsCheckedAndPublished() throws {
        func load(notBefore: Date, notAfter: Date) throws -> ([ControlConfiguration.Profile], [ConfigurationProblem]) {
            let directory = try Shell.temporaryDirectory()
            let app = try TestPKI.makeCA(commonName: "app", notBefore: notBefore, notAfter: notAfter)
            let certificate = directory.appendingPathComponent("app.pem").path
            let key = directory.appendingPathComponent("app.key").path
            try SecretFiles.create(app.certificatePEM, at: certificate, mode: 0o644)
            try SecretFiles.create(app.keyPEM, at: key, mode: 0o600)
            return try Self.load([
                "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api", "SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID": "t",
                "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_ID": "c", "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH": certificate,
                "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_KEY_PATH": key,
            ])
        }
        let (_, expired) = try load(notBefore: Date().addingTimeInterval(-400 * 86400), notAfter: Date().addingTimeInterval(-86400))
        #expect(expired.map(\.variable) == ["SCEPTER_PROFILE_CORP_INTUNE_CLIENT_CERT_PATH"], "\(expired)")
        #expect(expired.first?.message.contains("expired on") == true && expired.first?.message.contains("Entra refuses client assertions") == true)
        let (_, early) = try load(notBefore: Date().addingTimeInterval(86400), notAfter: Date().addingTimeInterval(400 * 86400))
        #expect(early.first?.message.contains("is not valid before") == true, "\(early)")

        let soon = Date().addingTimeInterval(5 * 86400 + 3600)
        let (profiles, problems) = try load(notBefore: Date().addingTimeInterval(-3600), notAfter: soon)
        #expect(problems.isEmpty, "\(problems)")
        let metrics = ControlMetrics()
        let warnings = metrics.recordCertificateExpiries(of: ControlConfiguration(profiles: profiles), now: Date())
        let notAfter = try #require(profiles.first.flatMap { profile -> Date? in
            guard case .certificate(let der, _) = profile.intuneAPI?.credential else { return nil }
            return CertificateExpiry.validity(of: der)?.upperBound
        })
        #expect(abs(notAfter.timeIntervalSince(soon)) < 2)
        #expect(warnings == ["the Entra client certificate of profile corp expires on \(CertificateExpiry.stamp(notAfter)), in 5 days: renew it before then"], "\(warnings)")
        let rendered = String(decoding: metrics.render(), as: UTF8.self)
        #expect(rendered.contains(#"scepter_intune_client_certificate_not_after_seconds{profile="corp"} \#(Int(notAfter.timeIntervalSince1970)).0"#), "\(rendered)")
        #expect(rendered.contains(#"scepter_issuer_certificate_not_after_seconds{issuer="corp"}"#), "\(rendered)")
    }

    @Test func profilesSharingAnAppRegistrationMustAgreeOnItsCredential() throws {
        let ca = try Self.ca.get()
        var environment = [
            "SCEPTER_ISSUERS": "corp",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": ca.certificate,
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": ca.key,
        ]
        for profile in ["WIFI", "VPN"] {
            environment["SCEPTER_PROFILE_\(profile)_INTUNE_MODE"] = "intune-api"
            environment["SCEPTER_PROFILE_\(profile)_INTUNE_TENANT_ID"] = "contoso.onmicrosoft.com"
            environment["SCEPTER_PROFILE_\(profile)_INTUNE_CLIENT_ID"] = "app"
            environment["SCEPTER_PROFILE_\(profile)_INTUNE_CLIENT_SECRET"] = "secret-\(profile)"
        }
        var settings = Settings(environment: environment)
        _ = ControlConfiguration.loadProfiles(&settings, profileNames: ["vpn", "wifi"])
        #expect(settings.problems.map(\.variable) == ["SCEPTER_PROFILE_WIFI_INTUNE_CLIENT_SECRET"], "\(settings.problems)")

        environment["SCEPTER_PROFILE_WIFI_INTUNE_CLIENT_SECRET"] = "secret-VPN"
        settings = Settings(environment: environment)
        let profiles = ControlConfiguration.loadProfiles(&settings, profileNames: ["vpn", "wifi"])
        #expect(settings.problems.isEmpty)
        let clients = ControlConfiguration(profiles: profiles).intuneClients(metrics: nil, logger: .init(label: "test"))
        #expect(clients["vpn"] === clients["wifi"], "one client, one breaker, one revocation download")
    }

    @Test func credentialsWithoutTheModeAreRefused() throws {
        let (_, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID": "t", "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET": "s"])
        #expect(Set(problems.map(\.variable)) == ["SCEPTER_PROFILE_CORP_INTUNE_TENANT_ID", "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET"])
    }

    @Test func revocationPollingTurnsOffWithZero() throws {
        var settings = Settings(environment: ["SCEPTER_INTUNE_REVOCATION_INTERVAL": "0"])
        #expect(IntuneOptions.load(&settings).revocationInterval == nil)
        settings = Settings(environment: [:])
        #expect(IntuneOptions.load(&settings).revocationInterval == .seconds(900))
        #expect(settings.problems.isEmpty)
        // The same 0 from a _FILE (a ConfigMap key mounted as a file).
        let file = try Shell.temporaryDirectory().appendingPathComponent("interval")
        try "0\n".write(to: file, atomically: true, encoding: .utf8)
        settings = Settings(environment: ["SCEPTER_INTUNE_REVOCATION_INTERVAL_FILE": file.path])
        #expect(IntuneOptions.load(&settings).revocationInterval == nil)
        #expect(settings.problems.isEmpty, "\(settings.problems)")
    }

    @Test("The control plane refuses an INTUNE_MODE that is not a mode, as the edge does (a typo of intune-api would start as off)")
    func unknownModeIsRefused() throws {
        let (profiles, problems) = try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune_api"])
        #expect(profiles.first?.intuneAPI == nil)
        #expect(
            problems.map(\.description) == [#"SCEPTER_PROFILE_CORP_INTUNE_MODE: "intune_api" is not one of off, signed-challenge, intune-api"#])
        #expect(try Self.load(["SCEPTER_PROFILE_CORP_INTUNE_MODE": "Signed-Challenge"]).1.isEmpty, "case-insensitive")
    }
}

@Suite("Secrets do not reflect")
struct SecretReflectionTests {
    @Test("A CA, a client secret and a client key never appear in a description or a reflection")
    func secretsDoNotReflect() throws {
        let identity = try TestPKI.makeCA(commonName: "Reflected CA")
        let ca = try LocalCA(name: "reflected", certificatePEM: identity.certificatePEM, keyPEM: identity.keyPEM)
        let secret = IntuneAPISettings.Credential.secret("s3cr3t-value-that-must-not-show")
        let key = IntuneAPISettings.Credential.certificate(der: [0x30], key: TestPKI.rsa2048Key())
        for text in [
            String(describing: ca), String(reflecting: ca), String(describing: [ca]), String(reflecting: (ca, 1)),
            String(describing: secret), String(reflecting: secret), String(reflecting: [secret, key]),
        ] {
            #expect(!text.contains("PRIVATE KEY"), "\(text)")
            #expect(!text.contains("s3cr3t"), "\(text)")
            #expect(!text.contains("keyPEM"), "\(text)")
        }
        var dumped = ""
        dump(ca, to: &dumped)
        dump(secret, to: &dumped)
        #expect(!dumped.contains("PRIVATE KEY") && !dumped.contains("s3cr3t"), "\(dumped)")
    }
}
