import Foundation
import Testing
import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// An expired RA certificate is the classic SCEP outage: the server answers
/// and every device rejects the CertRep. An edge refuses to start with one,
/// publishes each RA's notAfter, and warns at start within 30 days.
@Suite(.timeLimit(.minutes(1)))
struct RACertificateExpiryTests {
    /// A profile whose RA certificate is valid from `notBefore` to `notAfter`, loaded from files.
    static func load(notBefore: Date, notAfter: Date) throws -> ([EdgeConfiguration.Profile], [ConfigurationProblem], String) {
        let directory = try Shell.temporaryDirectory()
        let ca = try TestPKI.makeCA(notBefore: notBefore.addingTimeInterval(-86400))
        let ra = try TestPKI.makeLeaf(commonName: "RA", issuer: ca, notBefore: notBefore, notAfter: notAfter)
        let certificate = directory.appendingPathComponent("ra.pem").path
        let key = directory.appendingPathComponent("ra.key").path
        try SecretFiles.create(ra.certificatePEM, at: certificate, mode: 0o644)
        try SecretFiles.create(ra.keyPEM, at: key, mode: 0o600)
        var settings = Settings(environment: [
            "SCEPTER_PROFILES": "corp", "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "not-a-secret-here",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": certificate, "SCEPTER_PROFILE_CORP_RA_KEY_PATH": key,
        ])
        let profiles = EdgeConfiguration.loadProfiles(&settings)
        return (profiles, settings.problems, certificate)
    }

    @Test func anExpiredRACertificateIsRefusedNamingTheSettingAndTheDate() throws {
        let expired = Date().addingTimeInterval(-86400)
        let (profiles, problems, path) = try Self.load(notBefore: expired.addingTimeInterval(-365 * 86400), notAfter: expired)
        #expect(profiles.isEmpty)
        let problem = try #require(problems.first { $0.variable == "SCEPTER_PROFILE_CORP_RA_CERT_PATH" }, "\(problems)")
        #expect(problem.message.contains("RA certificate \(path) expired on \(CertificateExpiry.stamp(expired).prefix(10))"), "\(problem)")
        #expect(problem.message.contains("devices reject every CertRep it signs"))
    }

    @Test func anRACertificateNotYetValidIsRefused() throws {
        let (_, problems, _) = try Self.load(notBefore: Date().addingTimeInterval(86400), notAfter: Date().addingTimeInterval(400 * 86400))
        #expect(problems.contains { $0.variable == "SCEPTER_PROFILE_CORP_RA_CERT_PATH" && $0.message.contains("is not valid before") }, "\(problems)")
    }

    @Test func notAfterIsPublishedAndASoonExpiryIsAWarning() throws {
        let soon = Date().addingTimeInterval(10 * 86400 + 3600)
        let (profiles, problems, _) = try Self.load(notBefore: Date().addingTimeInterval(-3600), notAfter: soon)
        #expect(problems.isEmpty, "\(problems)")
        let metrics = EdgeMetrics()
        let warnings = metrics.recordRACertificates(of: EdgeConfiguration(profiles: profiles, edgeID: "e"), now: Date())
        #expect(warnings.count == 1 && warnings[0].contains("the RA certificate of profile corp expires on") && warnings[0].contains("in 10 days"), "\(warnings)")
        let rendered = String(decoding: metrics.render(), as: UTF8.self)
        let seconds = Int(try #require(profiles.first?.ra.notAfter).timeIntervalSince1970)
        #expect(abs(Double(seconds) - soon.timeIntervalSince1970) < 2)
        #expect(rendered.contains(#"scepter_ra_certificate_not_after_seconds{profile="corp"} \#(seconds).0"#), "\(rendered)")

        let (later, _, _) = try Self.load(notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(90 * 86400))
        #expect(EdgeMetrics().recordRACertificates(of: EdgeConfiguration(profiles: later, edgeID: "e"), now: Date()).isEmpty)
    }

    @Test func warningsSayExpiredOncePast() {
        let past = Date().addingTimeInterval(-60)
        #expect(CertificateExpiry.warning("x", notAfter: past, now: Date()) == "x expired on \(CertificateExpiry.stamp(past))")
        #expect(CertificateExpiry.refusal(Date().addingTimeInterval(-10)...Date().addingTimeInterval(10), now: Date()) == nil)
    }

    @Test("An Intune Connector certificate within 30 days of expiry is warned of, at start and after each reload; one further away is not")
    func connectorCertificatesNearExpiryAreWarnedOf() throws {
        let now = Date()
        let soon = try TestConnector(.p256, commonName: "Connector Soon", notBefore: now.addingTimeInterval(-86400), notAfter: now.addingTimeInterval(10 * 86400 + 3600))
        let later = try TestConnector(.p256, commonName: "Connector Later", notBefore: now.addingTimeInterval(-86400), notAfter: now.addingTimeInterval(90 * 86400))
        let anchors = try TrustAnchors(pemBundle: try soon.pem + "\n" + later.pem, now: now)
        let warnings = TrustAnchorReloader.expiryWarnings(profile: "corp", anchors: anchors, now: now)
        #expect(warnings.count == 1, "\(warnings)")
        #expect(warnings.first?.contains("the Intune Connector certificate CN=Connector Soon") == true, "\(warnings)")
        #expect(warnings.first?.contains("of profile corp expires on") == true && warnings.first?.contains("in 10 days") == true, "\(warnings)")
    }
}
