import Foundation
import ScepterProtocol
import Testing

/// The catalog of variables and the review of an environment against it.
@Suite("Known variables: misspelt and unread SCEPTER_* variables reported", .timeLimit(.minutes(1)))
struct KnownVariablesTests {
    /// An edge's profile corp, as the operator walkthrough had it.
    static let corp = ["SCEPTER_PROFILES": "corp", "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "static"]

    static func review(_ extra: [String: String], role: KnownVariables.Role = .edge, base: [String: String] = corp) -> KnownVariables.Review {
        KnownVariables.review(base.merging(extra) { $1 }, role: role)
    }

    @Test("A misspelt Intune mode refuses the start, naming the setting it probably meant")
    func misspeltIntuneModeIsAProblem() {
        let review = Self.review(["SCEPTER_PROFILE_CORP_INTUNEMODE": "signed-challenge"])
        #expect(review.problems.map(\.description) == [
            "SCEPTER_PROFILE_CORP_INTUNEMODE: is not a setting Scepter reads; did you mean SCEPTER_PROFILE_CORP_INTUNE_MODE?"
        ])
        #expect(review.warnings.isEmpty)
    }

    @Test("A name near a security setting that is set as well sits beside it (a newer release's, after a rollback): a warning")
    func nearNameBesideItsSettingIsAWarning() {
        for meant in ["SCEPTER_PROFILE_CORP_INTUNE_MODE", "SCEPTER_PROFILE_CORP_INTUNE_MODE_FILE"] {
            let review = Self.review(["SCEPTER_PROFILE_CORP_INTUNEMODE": "signed-challenge", meant: "signed-challenge"])
            #expect(review.problems.isEmpty, "\(meant): \(review.problems)")
            #expect(review.warnings.map(\.variable).contains("SCEPTER_PROFILE_CORP_INTUNEMODE"), "\(meant)")
        }
    }

    @Test(
        "Misspellings near a security setting are problems",
        arguments: [
            ("SCEPTER_PROFILE_CORP_ALLOWD_EKUS", "SCEPTER_PROFILE_CORP_ALLOWED_EKUS"),
            ("SCEPTER_PROFILE_CORP_CHALENGE_PASSWORD_FILE", "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD_FILE"),
            ("SCEPTER_PROFILE_CORP_INTUNE_AUDEINCE", "SCEPTER_PROFILE_CORP_INTUNE_AUDIENCE"),
            ("SCEPTER_PROFILE_CORP_KEYUSAGE", "SCEPTER_PROFILE_CORP_KEY_USAGE"),
            ("SCEPTER_PROFILE_CORP_CERT_VALIDTY", "SCEPTER_PROFILE_CORP_CERT_VALIDITY"),
            ("SCEPTER_ADMIN_TOKEN_FILES", "SCEPTER_ADMIN_TOKENS_FILE"),
            ("SCEPTER_CONTROL_CLIENTCA_PATH", "SCEPTER_CONTROL_CLIENT_CA_PATH"),
            ("SCEPTER_ISSUER_MAIN_CA_KEY_PTH", "SCEPTER_ISSUER_MAIN_CA_KEY_PATH"),
            ("scepter_profile_corp_intune_mode", "SCEPTER_PROFILE_CORP_INTUNE_MODE"),
            // A profile name misspelt as well: the listed profile is suggested.
            ("SCEPTER_PROFILE_CROP_INTUNE_MOD", "SCEPTER_PROFILE_CORP_INTUNE_MODE"),
            // A profile that is not listed still has no such setting.
            ("SCEPTER_PROFILE_LAB_INTUNEMODE", "SCEPTER_PROFILE_LAB_INTUNE_MODE"),
        ])
    func securityMisspellings(variable: String, meant: String) {
        let review = Self.review([variable: "x"], base: Self.corp.merging(["SCEPTER_ISSUERS": "main"]) { $1 })
        #expect(review.problems.map(\.description) == ["\(variable): is not a setting Scepter reads; did you mean \(meant)?"])
        #expect(review.warnings.isEmpty)
    }

    @Test("Misspellings near other settings, and unknown variables, are warnings")
    func otherUnknownVariablesAreWarnings() {
        let review = Self.review(["SCEPTER_LOG_LEVL": "debug", "SCEPTER_COLOUR": "blue", "SCEPTER_LOG_LEVEL_FILE": "/etc/level"])
        #expect(review.problems.isEmpty)
        #expect(review.warnings.map(\.description) == [
            "SCEPTER_COLOUR: is not a setting Scepter reads",
            // SCEPTER_LOG_LEVEL has no _FILE variant.
            "SCEPTER_LOG_LEVEL_FILE: is not a setting Scepter reads: SCEPTER_LOG_LEVEL has no _FILE variant",
            "SCEPTER_LOG_LEVL: is not a setting Scepter reads; did you mean SCEPTER_LOG_LEVEL?",
        ])
    }

    @Test("A variable of a profile or issuer that is not listed is a warning, with the listed name it may have meant")
    func unlistedProfilesAndIssuers() {
        let review = Self.review([
            "SCEPTER_ISSUERS": "main", "SCEPTER_PROFILES": "corp-eu",
            "SCEPTER_PROFILE_CORP_EU_CHALLENGE_PASSWORD": "x",
            "SCEPTER_PROFILE_LAB_RA_CERT_PATH": "/ra.pem", "SCEPTER_PROFILE_CORP_EX_INTUNE_MODE": "signed-challenge",
            "SCEPTER_ISSUER_OLD_CA_CERT_PATH": "/ca.pem",
        ], base: [:])
        #expect(review.problems.isEmpty)
        #expect(review.warnings.map(\.description) == [
            "SCEPTER_ISSUER_OLD_CA_CERT_PATH: is not read: issuer old is not in SCEPTER_ISSUERS (main)",
            "SCEPTER_PROFILE_CORP_EX_INTUNE_MODE: is not read: profile corp-ex is not in SCEPTER_PROFILES (corp-eu); did you mean SCEPTER_PROFILE_CORP_EU_INTUNE_MODE?",
            "SCEPTER_PROFILE_LAB_RA_CERT_PATH: is not read: profile lab is not in SCEPTER_PROFILES (corp-eu)",
        ])
    }

    @Test("Both roles' variables, listed profiles' and issuers' _FILE variants and the test harness's variables pass unreported")
    func sharedConfigMapAndHarness() {
        let review = Self.review([
            "SCEPTER_ISSUERS": "main,main-next", "SCEPTER_ISSUER_MAIN_CA_CERT_PATH": "/ca.pem", "SCEPTER_ISSUER_MAIN_NEXT_CA_CERT_PATH": "/next.pem",
            "SCEPTER_ISSUER_MAIN_NEXT_CA_KEY_PATH": "/next.key", "SCEPTER_DATABASE_URL_FILE": "/db", "SCEPTER_CONTROL_URL": "http://c:9000",
            "SCEPTER_ADMIN_TOKENS": "t", "SCEPTER_PROFILE_CORP_INTUNE_CLIENT_SECRET_FILE": "/s", "SCEPTER_PROFILE_CORP_ISSUER": "main",
            "SCEPTER_TEST_DATABASE_URL": "postgres://", "SCEPTER_TEST_REDIS_URL": "redis://", "SCEPTER_SERVICES_DIR": "/tmp/s",
            "SCEPTER_BENCH_PYTHON": "/venv/python", "SCEPTER_EDGE_1": "127.0.0.1:8081", "SCEPTER_URL": "http://127.0.0.1:8080",
            "NIO_SINGLETON_GROUP_LOOP_COUNT": "2", "PATH": "/usr/bin",
        ])
        #expect(review.problems.isEmpty)
        #expect(review.warnings.isEmpty)
    }

    @Test("scepter dev reads its development CA's NEXT_CA_CERT_PATH unlisted, and no variable of its built-in profile default")
    func devBuiltIns() {
        let environment = ["SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH": "/next.pem", "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD": "x"]
        let dev = Self.review(environment, role: .dev, base: [:])
        #expect(dev.problems.isEmpty)
        #expect(dev.warnings.map(\.description) == [
            "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD: is not read: profile default is not in SCEPTER_PROFILES (none listed); "
                + "scepter dev's built-in profile default takes no variables: list default in SCEPTER_PROFILES to replace it"
        ])
        let listed = Self.review(environment.merging(["SCEPTER_PROFILES": "default"]) { $1 }, role: .dev, base: [:])
        #expect(listed.warnings.isEmpty)
        let edge = Self.review(environment, role: .edge, base: [:])
        #expect(edge.warnings.map(\.variable) == ["SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH", "SCEPTER_PROFILE_DEFAULT_CHALLENGE_PASSWORD"])
    }

    @Test("Kubernetes service links are warnings with a hint, never problems")
    func serviceLinks() {
        let review = Self.review(["SCEPTER_CONTROL_PORT_9000_TCP_ADDR": "10.0.0.1", "SCEPTER_EDGE_SERVICE_HOST": "10.0.0.2"])
        #expect(review.problems.isEmpty)
        #expect(review.warnings.count == 2)
        #expect(review.warnings.allSatisfy { $0.message.contains("enableServiceLinks: false") })
    }

    /// Every `SCEPTER_*` name in the first column of docs/configuration.md's tables.
    static func documentedNames() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        var names: Set<String> = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `SCEPTER_") {
            let cell = line.dropFirst(3).prefix { $0 != "`" }
            names.insert(String(cell))
        }
        return names
    }

    @Test("docs/configuration.md's tables name exactly the catalog's variables")
    func documentationMatchesCatalog() throws {
        let documented = try Self.documentedNames()
        let catalog = Set(
            KnownVariables.globals.map(\.name) + KnownVariables.profileSuffixes.map { "SCEPTER_PROFILE_<NAME>_\($0.name)" }
                + KnownVariables.issuerSuffixes.map { "SCEPTER_ISSUER_<NAME>_\($0.name)" })
        #expect(documented.count > 60, "the tables were not found: \(documented)")
        #expect(documented.subtracting(catalog).sorted() == [], "documented but not in KnownVariables")
        #expect(catalog.subtracting(documented).sorted() == [], "in KnownVariables but not documented")
    }
}
