import Foundation
import Testing
@testable import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// Preflight: every problem at once, each naming its variable.
@Suite("Edge configuration from SCEPTER_* variables", .timeLimit(.minutes(5)))
struct EdgeConfigurationTests {
    struct Files {
        let directory: URL
        let raCertificate: String
        let raKey: String
        let anchors: String
    }

    static let files = Result { () throws -> Files in
        let directory = try Shell.temporaryDirectory()
        let ca = try TestPKI.makeCA()
        let ra = try TestPKI.makeLeaf(commonName: "RA", issuer: ca)
        let raCertificate = directory.appendingPathComponent("ra.pem").path
        let raKey = directory.appendingPathComponent("ra.key").path
        try SecretFiles.create(ra.certificatePEM, at: raCertificate, mode: 0o644)
        try SecretFiles.create(ra.keyPEM, at: raKey, mode: 0o600)
        let connector = try TestConnector(.p256, commonName: "Connector", notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400))
        let anchors = directory.appendingPathComponent("anchors.pem").path
        try SecretFiles.create(try connector.pem, at: anchors, mode: 0o644)
        return Files(directory: directory, raCertificate: raCertificate, raKey: raKey, anchors: anchors)
    }

    static func load(_ environment: [String: String]) -> ([EdgeConfiguration.Profile], [ConfigurationProblem]) {
        var settings = Settings(environment: environment)
        let profiles = EdgeConfiguration.loadProfiles(&settings)
        return (profiles, settings.problems)
    }

    @Test func aCompleteIntuneProfileLoads() throws {
        let files = try Self.files.get()
        let (profiles, problems) = Self.load([
            "SCEPTER_PROFILES": "Corp-Laptops",
            "SCEPTER_PROFILE_CORP_LAPTOPS_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_CORP_LAPTOPS_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_CONNECTOR_CERT_PATH": files.anchors,
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_CHALLENGE_VALIDITY": "30m",
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_CLOCK_SKEW": "90s",
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_RATE_LIMIT": "5",
            "SCEPTER_PROFILE_CORP_LAPTOPS_INTUNE_AUDIENCE": "https://scep.example/scep/corp-laptops",
        ])
        #expect(problems.isEmpty, "\(problems)")
        let profile = try #require(profiles.first)
        #expect(profile.name == "corp-laptops")
        #expect(profile.challengePassword == nil)
        let intune = try #require(profile.intune)
        #expect(intune.policy.challengeValidityCap == .seconds(1800))
        #expect(intune.policy.clockSkew == .seconds(90))
        #expect(intune.rateLimit == 5)
        #expect(intune.policy.audience == "https://scep.example/scep/corp-laptops")
        #expect(intune.anchors.anchors.fingerprints.count == 1)
    }

    @Test("A profile's settings as the heartbeat publishes them: every gate's value, secrets only as set, the webhook without its query")
    func publishedSettings() throws {
        let files = try Self.files.get()
        let secretToken = "hook-token-\(UUID().uuidString)"
        let (profiles, problems) = Self.load([
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "static-secret-\(secretToken)",
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": files.anchors,
            "SCEPTER_PROFILE_CORP_INTUNE_RATE_LIMIT": "5",
            "SCEPTER_PROFILE_CORP_ALLOWED_SAN_TYPES": "dns,uri",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_URL": "https://hook:\(secretToken)@compliance.example/check?token=\(secretToken)#x",
            "SCEPTER_PROFILE_CORP_INTUNE_COMPLIANCE_SECRET": String(repeating: "k", count: 32) + secretToken,
            "SCEPTER_PROFILE_CORP_RENEWAL_LIMIT": "7",
        ])
        #expect(problems.isEmpty, "\(problems)")
        let settings = try #require(profiles.first).settings
        #expect(settings.challengePassword == "set")
        #expect(settings.intuneMode == .signedChallenge)
        #expect(settings.renewalLimit == 7)
        #expect(settings.ra.subject.contains("CN=RA"), "\(settings.ra.subject)")
        #expect(settings.ra.fingerprint.count == 64)
        let gates = try #require(settings.signedChallenge)
        #expect(gates.rateLimit == 5 && gates.challengeValiditySeconds == 3600 && gates.clockSkewSeconds == 60 && gates.audience == nil)
        #expect(gates.allowedSANTypes == ["dns", "uri"])
        #expect(gates.complianceURL == "https://compliance.example")
        #expect(gates.complianceURLDigest?.count == 16)
        #expect(gates.complianceSecret == "set" && gates.complianceTimeoutSeconds == 5)
        let json = String(decoding: try InternalAPI.encoder().encode(settings), as: UTF8.self)
        #expect(!json.contains(secretToken), "no secret in what the heartbeat publishes: \(json)")
    }

    @Test("A static challenge certmonger cannot send is warned about, naming the variable and not the characters")
    func challengeCharactersAreWarnedAbout() throws {
        let files = try Self.files.get()
        var environment = ["SCEPTER_PROFILES": "wifi,vpn,lab"]
        for (name, challenge) in [("WIFI", "s3cret_with@signs"), ("VPN", "Plain-Old.Secret+2026"), ("LAB", "x:y=z?(1),'a b'/")] {
            environment["SCEPTER_PROFILE_\(name)_RA_CERT_PATH"] = files.raCertificate
            environment["SCEPTER_PROFILE_\(name)_RA_KEY_PATH"] = files.raKey
            environment["SCEPTER_PROFILE_\(name)_CHALLENGE_PASSWORD"] = challenge
        }
        let (profiles, problems) = Self.load(environment)
        #expect(problems.isEmpty, "\(problems)")
        let warnings = EdgeConfiguration(profiles: profiles, edgeID: "edge-1").challengeCharacterWarnings
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.hasPrefix("SCEPTER_PROFILE_WIFI_CHALLENGE_PASSWORD holds characters") == true, "\(warnings)")
        #expect(warnings.first?.contains("certmonger") == true && warnings.first?.contains("s3cret") == false)

        // A CSR without a challenge on that profile: the refusal names the likely cause; on the others it does not.
        for profile in profiles {
            let reason = try #require(ChallengeGate.staticPassword(nil, profile: profile)).reason
            #expect(reason.hasPrefix("the CSR carries no challengePassword"))
            #expect(reason.contains("SCEPTER_PROFILE_WIFI_CHALLENGE_PASSWORD holds characters") == (profile.name == "wifi"), "\(reason)")
        }
    }

    @Test func anIntuneAPIProfileNeedsNoAnchorsAndRefusesSignedChallengeSettings() throws {
        let files = try Self.files.get()
        let (profiles, problems) = Self.load([
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_CHALLENGE_VALIDITY": "2h",
        ])
        #expect(problems.isEmpty, "\(problems)")
        let profile = try #require(profiles.first)
        #expect(profile.intune == nil)
        #expect(profile.intuneAPI?.replayWindow == .seconds(7200 + 60))

        let (_, refused) = Self.load([
            "SCEPTER_PROFILES": "corp",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_CORP_INTUNE_MODE": "intune-api",
            "SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH": files.anchors,
            "SCEPTER_PROFILE_CORP_INTUNE_RATE_LIMIT": "3",
        ])
        #expect(Set(refused.map(\.variable)) == ["SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH", "SCEPTER_PROFILE_CORP_INTUNE_RATE_LIMIT"])
    }

    @Test func everyProblemIsReportedAtOnceNamingItsVariable() throws {
        let files = try Self.files.get()
        let garbage = files.directory.appendingPathComponent("garbage.pem").path
        try? "garbage".write(toFile: garbage, atomically: true, encoding: .utf8)
        let (_, problems) = Self.load([
            "SCEPTER_PROFILES": "a,b,c,Bad_Name",
            // a: no RA key, no challenge at all
            "SCEPTER_PROFILE_A_RA_CERT_PATH": files.raCertificate,
            // b: Intune with an unparseable bundle and a bad duration
            "SCEPTER_PROFILE_B_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_B_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_B_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_B_INTUNE_CONNECTOR_CERT_PATH": garbage,
            "SCEPTER_PROFILE_B_INTUNE_CLOCK_SKEW": "soon",
            // c: unknown mode, Intune setting with Intune off is caught too
            "SCEPTER_PROFILE_C_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_C_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_C_CHALLENGE_PASSWORD": "pw",
            "SCEPTER_PROFILE_C_INTUNE_MODE": "maybe",
        ])
        let variables = Set(problems.map(\.variable))
        #expect(variables == [
            "SCEPTER_PROFILES",
            "SCEPTER_PROFILE_A_RA_KEY_PATH",
            "SCEPTER_PROFILE_A_CHALLENGE_PASSWORD",
            "SCEPTER_PROFILE_B_INTUNE_CONNECTOR_CERT_PATH",
            "SCEPTER_PROFILE_B_INTUNE_CLOCK_SKEW",
            "SCEPTER_PROFILE_C_INTUNE_MODE",
        ], "\(problems)")
        #expect(ConfigurationError(problems).description.contains("6 problems"))
    }

    @Test func aKeyReadableByOthersIsRefused() throws {
        let files = try Self.files.get()
        let loose = files.directory.appendingPathComponent("loose-\(UUID().uuidString).key").path
        try SecretFiles.create(try String(contentsOfFile: files.raKey, encoding: .utf8), at: loose, mode: 0o644)
        let (_, problems) = Self.load([
            "SCEPTER_PROFILES": "x",
            "SCEPTER_PROFILE_X_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_X_RA_KEY_PATH": loose,
            "SCEPTER_PROFILE_X_CHALLENGE_PASSWORD": "pw",
        ])
        #expect(problems.count == 1)
        #expect(problems.first?.variable == "SCEPTER_PROFILE_X_RA_KEY_PATH")
        #expect(problems.first?.message.contains("chmod 600") == true)
    }

    @Test func expiredAnchorsRefuseToStart() throws {
        let files = try Self.files.get()
        let expired = try TestConnector(.p256, commonName: "Old", notBefore: Date().addingTimeInterval(-10 * 86_400), notAfter: Date().addingTimeInterval(-86_400))
        let path = files.directory.appendingPathComponent("expired-\(UUID().uuidString).pem").path
        try expired.pem.write(toFile: path, atomically: true, encoding: .utf8)
        let (profiles, problems) = Self.load([
            "SCEPTER_PROFILES": "y",
            "SCEPTER_PROFILE_Y_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_Y_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_Y_INTUNE_MODE": "signed-challenge",
            "SCEPTER_PROFILE_Y_INTUNE_CONNECTOR_CERT_PATH": path,
        ])
        #expect(profiles.isEmpty == false)
        #expect(profiles.first?.intune == nil)
        #expect(problems.map(\.variable) == ["SCEPTER_PROFILE_Y_INTUNE_CONNECTOR_CERT_PATH"])
        #expect(problems.first?.message.contains("expired") == true, "\(problems)")
    }

    @Test func secretsComeFromFilesToo() throws {
        let files = try Self.files.get()
        let secret = files.directory.appendingPathComponent("challenge-\(UUID().uuidString)").path
        try SecretFiles.create("from-a-file\n", at: secret, mode: 0o600)
        let (profiles, problems) = Self.load([
            "SCEPTER_PROFILES": "z",
            "SCEPTER_PROFILE_Z_RA_CERT_PATH": files.raCertificate,
            "SCEPTER_PROFILE_Z_RA_KEY_PATH": files.raKey,
            "SCEPTER_PROFILE_Z_CHALLENGE_PASSWORD_FILE": secret,
        ])
        #expect(problems.isEmpty)
        #expect(profiles.first?.challengePassword == "from-a-file")
    }

    @Test(arguments: [("90s", 90), ("1h", 3600), ("1d", 86_400), ("365d", 31_536_000), ("36h", 129_600), ("90m", 5400), ("61s", 61)])
    func durationsAsOperatorsWriteThem(text: String, seconds: Int64) {
        #expect(DurationText.parse(text) == .seconds(seconds))
        #expect(DurationText.format(.seconds(seconds)) == text, "written back in the largest whole unit")
    }

    @Test(arguments: ["", "5", "5y", "-3m", "m", "200000000000000d", "36501d"])
    func notDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}

/// Files the edge cannot read are refused with the system's reason, not a TLS library's code.
@Suite("Unreadable configuration files")
struct UnreadableFileTests {
    @Test("SCEPTER_CONTROL_CA_PATH naming no file says so")
    func missingControlCA() throws {
        var settings = Settings(environment: [:])
        _ = ControlPlaneClient.tlsConfiguration(&settings, controlURL: "https://control.example:9000", listener: nil)
        #expect(settings.problems.isEmpty)
        settings = Settings(environment: ["SCEPTER_CONTROL_CA_PATH": "/nonexistent/control-ca.pem"])
        _ = ControlPlaneClient.tlsConfiguration(&settings, controlURL: "https://control.example:9000", listener: nil)
        let problem = try #require(settings.problems.first)
        #expect(problem.variable == "SCEPTER_CONTROL_CA_PATH")
        #expect(problem.message == "cannot read /nonexistent/control-ca.pem: No such file or directory", "\(problem.message)")
    }

    @Test("A directory or a binary file where a PEM file belongs is named as such")
    func directoryOrBinary() throws {
        let directory = try Shell.temporaryDirectory()
        #expect(throws: SecretFiles.Problem.self) { try SecretFiles.readPublic(at: directory.path, setting: "X") }
        do {
            _ = try SecretFiles.readPublic(at: directory.path, setting: "X")
        } catch {
            #expect(error.message.hasSuffix("it is a directory") || error.message.hasSuffix("Is a directory"), "\(error.message)")
        }
        let binary = directory.appendingPathComponent("ca.der")
        try Data([0x30, 0x82, 0xFF, 0xFE, 0x80]).write(to: binary)
        do {
            _ = try SecretFiles.readPublic(at: binary.path, setting: "X")
            Issue.record("a binary file read as text")
        } catch {
            #expect(error.message.contains("is not text"), "\(error.message)")
        }
    }
}
