import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// Who may call the internal API: per-edge tokens (`SCEPTER_EDGE_TOKENS`),
/// token strength for every token variable, and `SCEPTER_EDGE_PROFILES`.
@Suite("Edge identity: tokens and the profiles each edge may serve", .timeLimit(.minutes(5)))
struct EdgeIdentityTests {
    static let tokenA = "edge-a-token-" + String(repeating: "a", count: 32)
    static let tokenB = "edge-b-token-" + String(repeating: "b", count: 32)

    static func settings(_ environment: [String: String]) -> Settings { Settings(environment: environment) }

    @Test("Every token variable refuses a token under 32 bytes, naming the entry but never quoting it")
    func shortTokensAreRefused() {
        var settings = Self.settings([
            "SCEPTER_ADMIN_TOKENS": "alice:short-admin-secret," + String(repeating: "x", count: 40),
            "SCEPTER_VIEWER_TOKENS": "tiny", "SCEPTER_EDGE_TOKEN": "edge-secret-too-short",
        ])
        let tokens = BearerTokens.load(&settings, edge: BearerTokens.edgeTokens(&settings))
        let problems = settings.problems.map(\.description)
        #expect(problems.contains { $0.hasPrefix("SCEPTER_ADMIN_TOKENS: entry 1 (alice)") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("SCEPTER_VIEWER_TOKENS: entry 1 ") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("SCEPTER_EDGE_TOKEN: is 21 bytes") }, "\(problems)")
        for secret in ["short-admin-secret", "tiny", "edge-secret-too-short"] {
            #expect(!problems.joined().contains(secret), "a problem quotes the token")
        }
        #expect(tokens.roles(authorization: "Bearer " + String(repeating: "x", count: 40)) == [.admin, .viewer])
    }

    @Test("An empty token file is refused, not read as the token \"\"")
    func emptyTokenFileIsRefused() throws {
        let directory = try Shell.temporaryDirectory()
        let path = directory.appendingPathComponent("edge-token").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data("\n".utf8), attributes: [.posixPermissions: 0o600]))
        var settings = Self.settings(["SCEPTER_EDGE_TOKEN_FILE": path])
        #expect(settings.bearerToken("SCEPTER_EDGE_TOKEN") == nil)
        #expect(settings.problems.map(\.description) == ["SCEPTER_EDGE_TOKEN_FILE: \(path) is empty"])
    }

    @Test("SCEPTER_EDGE_TOKENS names each edge; ids are required and unique; the shared token is named edge")
    func edgeTokensAreNamed() {
        var settings = Self.settings([
            "SCEPTER_EDGE_TOKENS": "edge-a:\(Self.tokenA),edge-b:\(Self.tokenB)", "SCEPTER_EDGE_TOKEN": String(repeating: "s", count: 32),
        ])
        let tokens = BearerTokens(edge: BearerTokens.edgeTokens(&settings))
        #expect(settings.problems.isEmpty)
        #expect(tokens.principal(authorization: "Bearer \(Self.tokenA)")?.name == "edge-a")
        #expect(tokens.principal(authorization: "Bearer \(Self.tokenB)")?.name == "edge-b")
        #expect(tokens.principal(authorization: "Bearer " + String(repeating: "s", count: 32))?.name == "edge")

        var broken = Self.settings(["SCEPTER_EDGE_TOKENS": "edge-a:\(Self.tokenA),edge-a:\(Self.tokenB),\(Self.tokenA)x"])
        _ = BearerTokens.edgeTokens(&broken)
        let problems = broken.problems.map(\.description)
        #expect(problems.contains { $0.contains("edge id edge-a is listed twice") }, "\(problems)")
        #expect(problems.contains { $0.contains("entry 3 has no edge id") }, "\(problems)")

        var none = Self.settings([:])
        _ = BearerTokens.edgeTokens(&none)
        #expect(none.problems.map(\.variable) == ["SCEPTER_EDGE_TOKEN"])
    }

    @Test("SCEPTER_EDGE_PROFILES names known edges and profiles; unset allows all")
    func edgeProfilesAreChecked() {
        var settings = Self.settings(["SCEPTER_EDGE_PROFILES": "edge-a:corp|wifi,edge-x:corp,edge-b:lab,garbage"])
        let allowed = EdgeProfiles.load(&settings, edges: ["edge-a", "edge-b"], profiles: ["corp", "wifi"])
        let problems = settings.problems.map(\.description)
        #expect(problems.contains { $0.contains("edge edge-x has no token") }, "\(problems)")
        #expect(problems.contains { $0.contains("edge edge-b: profile lab is not in SCEPTER_PROFILES") }, "\(problems)")
        #expect(problems.contains { $0.contains("\"garbage\" is not edge-id:profile|profile") }, "\(problems)")
        #expect(allowed.allows(edge: "edge-a", profile: "wifi"))
        #expect(!allowed.allows(edge: "edge-b", profile: "corp"))
        #expect(!allowed.allows(edge: "edge-unlisted", profile: "corp"))

        var unset = Self.settings([:])
        #expect(EdgeProfiles.load(&unset, edges: ["edge-a"], profiles: ["corp"]).allows(edge: "edge-a", profile: "corp"))
    }

    @Test("The internal API refuses an edge a profile SCEPTER_EDGE_PROFILES does not give it, on every route")
    func internalAPIEnforcesEdgeProfiles() async throws {
        try await IssuanceHarness.run { harness in
            let router = Router(context: BasicRequestContext.self)
            InternalRoutes(
                issuance: harness.service, tokens: BearerTokens(edge: ["edge-a:\(Self.tokenA)", "edge-b:\(Self.tokenB)"]),
                edgeProfiles: EdgeProfiles(["edge-a": ["corp"]]), logger: ControlFixtures.logger
            ).add(to: router)
            let job = IssuanceHarness.job(try Device(), transactionID: "tx-edge-profiles")
            let body = ByteBuffer(bytes: Array(try InternalAPI.encoder().encode(job)))
            try await Application(router: router).test(.router) { client in
                for (token, expected) in [(Self.tokenA, HTTPResponse.Status.ok), (Self.tokenB, .forbidden)] {
                    let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                    try await client.execute(uri: InternalAPI.caPath(profile: "corp"), method: .get, headers: headers) { response in
                        #expect(response.status == expected)
                        if expected == .forbidden {
                            #expect(String(buffer: response.body).hasPrefix("edge edge-b may not serve profile corp (SCEPTER_EDGE_PROFILES)"))
                        }
                    }
                    try await client.execute(uri: "/internal/v1/enrollments", method: .post, headers: headers, body: body) { response in
                        #expect(response.status == expected)
                    }
                    try await client.execute(
                        uri: InternalAPI.enrollmentPath(profile: "corp", transactionID: "tx-edge-profiles"), method: .get, headers: headers
                    ) { response in
                        #expect(response.status == expected)
                    }
                }
            }
            #expect(harness.store.issuedCommits == 1, "only edge-a's enrollment was issued")
        }
    }
}
