import Foundation
import Testing
import ScepterProtocol

/// What edges publish in Redis: a heartbeat from an edge of the previous
/// release still counts during a rolling upgrade.
@Suite("Edge heartbeats", .timeLimit(.minutes(1)))
struct EdgeHeartbeatTests {
    static let settings = EdgeProfileSettings(
        ra: .init(subject: "CN=RA", fingerprint: String(repeating: "ab", count: 32), notAfter: Date(timeIntervalSince1970: 1_900_000_000)),
        challengePassword: "set", intuneMode: .signedChallenge,
        signedChallenge: .init(audience: nil, challengeValiditySeconds: 3600, clockSkewSeconds: 60, rateLimit: 3, allowedSANTypes: ["dns"]),
        renewalLimit: 3)

    @Test func roundTripsWithItsProfiles() throws {
        let heartbeat = EdgeHeartbeat(
            edgeID: "edge-0", version: "1.0", startedAt: Date(timeIntervalSince1970: 1_800_000_000), at: Date(timeIntervalSince1970: 1_800_000_060),
            anchors: [:], lastReload: nil, profiles: ["corp": Self.settings])
        let decoded = try InternalAPI.decoder().decode(EdgeHeartbeat.self, from: try InternalAPI.encoder().encode(heartbeat))
        #expect(decoded == heartbeat)
    }

    @Test("A heartbeat without profiles (an edge of the previous release) decodes, with none")
    func olderEdge() throws {
        let json = #"{"edgeID":"edge-old","version":"0.9","startedAt":1800000000000,"at":1800000060000,"anchors":{}}"#
        let decoded = try InternalAPI.decoder().decode(EdgeHeartbeat.self, from: Data(json.utf8))
        #expect(decoded.edgeID == "edge-old")
        #expect(decoded.profiles.isEmpty)
        // Settings of another shape (a later release) leave the heartbeat standing, without them.
        let newer = #"{"edgeID":"edge-new","version":"2.0","startedAt":1800000000000,"at":1800000060000,"anchors":{},"profiles":{"corp":{"ra":null,"intuneMode":7}}}"#
        let tolerated = try InternalAPI.decoder().decode(EdgeHeartbeat.self, from: Data(newer.utf8))
        #expect(tolerated.edgeID == "edge-new" && tolerated.profiles.isEmpty)
    }

    @Test(
        "A webhook's address is shown as its origin: path, query and user info may hold a secret",
        arguments: [
            ("https://user:pw@hook.example:8443/hooks/catch/123/s3cret/?token=secret#frag", "https://hook.example:8443"),
            ("http://127.0.0.1:9/check", "http://127.0.0.1:9"),
            ("http://[::1]:9/check", "http://[::1]:9"),
            ("not a url at all", "(not a URL)"),
        ])
    func webhookOrigin(_ url: String, _ shown: String) {
        #expect(EdgeProfileSettings.origin(of: url) == shown)
    }

    @Test("Edges with different webhooks on one host differ by the URL's digest")
    func webhookDigest() {
        func gates(_ url: String) -> EdgeProfileSettings.SignedChallenge {
            .init(audience: nil, challengeValiditySeconds: 3600, clockSkewSeconds: 60, rateLimit: 3, allowedSANTypes: ["dns"], compliance: url)
        }
        let a = gates("https://hook.example/a/secret-1"), b = gates("https://hook.example/a/secret-2")
        #expect(a.complianceURL == b.complianceURL && a != b)
        #expect(a.complianceURLDigest?.count == 16 && a.complianceURLDigest != b.complianceURLDigest)
    }
}
