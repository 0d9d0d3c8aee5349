import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gate 5: audience", .timeLimit(.minutes(5)))
struct IntuneAudienceGateTests {
    private let fixture: IntuneFixture

    init() throws {
        fixture = try IntuneFixture.get()
    }

    private func outcome(aud: Any?, configured: String?) throws -> Outcome {
        var claims = IntuneFixture.claims()
        claims["aud"] = aud
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: claims)
        let validator = try fixture.validator(policy: .init(audience: configured))
        switch validator.validate(challenge, csr: IntuneFixture.csr, now: IntuneFixture.now) {
        case .success: return .success
        case .failure(let refusal): return refusal.outcome
        }
    }

    private let expected = IntuneFixture.audience

    @Test("When configured, aud must equal it exactly")
    func strict() throws {
        #expect(try outcome(aud: expected, configured: expected) == .success)
        #expect(try outcome(aud: [expected], configured: expected) == .success)
        #expect(try outcome(aud: expected.uppercased(), configured: expected) == .wrongAudience)
        #expect(try outcome(aud: expected + "/", configured: expected) == .wrongAudience)
        #expect(try outcome(aud: "https://other.example/scep", configured: expected) == .wrongAudience)
        #expect(try outcome(aud: "", configured: expected) == .wrongAudience)
        #expect(try outcome(aud: [String](), configured: expected) == .wrongAudience)
    }

    @Test("An aud array with more than our value is refused even when it contains it")
    func multipleAudiences() throws {
        #expect(try outcome(aud: [expected, "https://other.example"], configured: expected) == .wrongAudience)
        #expect(try outcome(aud: [expected, expected], configured: expected) == .wrongAudience)
    }

    @Test("A missing aud fails when an audience is configured")
    func missing() throws {
        #expect(try outcome(aud: nil, configured: expected) == .wrongAudience)
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims().filter { $0.key != "aud" })
        let refusal = try fixture.validator().validate(challenge, csr: IntuneFixture.csr, now: IntuneFixture.now)
            .refusal
        #expect(refusal?.reason.contains("aud is missing") == true)
    }

    @Test("Canonically equivalent but different Unicode is a different audience")
    func bytewise() throws {
        #expect(
            try outcome(aud: "https://caf\u{E9}.example", configured: "https://cafe\u{301}.example") == .wrongAudience
        )
    }

    @Test("Anything passes when no audience is configured, or an empty one", arguments: [nil, ""] as [String?])
    func notConfigured(configured: String?) throws {
        #expect(try outcome(aud: nil, configured: configured) == .success)
        #expect(try outcome(aud: "https://anything.example", configured: configured) == .success)
        #expect(try outcome(aud: ["a", "b"], configured: configured) == .success)
    }
}
