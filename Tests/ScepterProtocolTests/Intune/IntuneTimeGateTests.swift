import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gate 4: time", .timeLimit(.minutes(5)))
struct IntuneTimeGateTests {
    private let fixture: IntuneFixture
    private let now = IntuneFixture.now

    init() throws {
        fixture = try IntuneFixture.get()
    }

    /// Validates claims with the given iat/exp (seconds relative to now) under a policy.
    private func outcome(
        iat: Double,
        exp: Double,
        skew: Duration = .seconds(60),
        cap: Duration = .seconds(3_600)
    ) throws -> Outcome {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims(iat: iat, exp: exp))
        let policy = IntuneValidator.Policy(
            audience: IntuneFixture.audience,
            challengeValidityCap: cap,
            clockSkew: skew
        )
        switch try fixture.validator(policy: policy).validate(challenge, csr: IntuneFixture.csr, now: now) {
        case .success: return .success
        case .failure(let refusal): return refusal.outcome
        }
    }

    @Test("Without skew, a challenge is expired exactly at exp and valid one second before")
    func exactlyAtExp() throws {
        #expect(try outcome(iat: -600, exp: 0, skew: .zero) == .expired)
        #expect(try outcome(iat: -600, exp: 1, skew: .zero) == .success)
        #expect(try outcome(iat: -600, exp: 0.001, skew: .zero) == .success)
    }

    @Test("Skew extends exp: expired when now - skew reaches exp, valid one second earlier")
    func expWithSkew() throws {
        #expect(try outcome(iat: -600, exp: 0) == .success)
        #expect(try outcome(iat: -600, exp: -59) == .success)
        #expect(try outcome(iat: -600, exp: -59.5) == .success)
        #expect(try outcome(iat: -600, exp: -60) == .expired)
        #expect(try outcome(iat: -600, exp: -61) == .expired)
    }

    @Test("iat in the future is accepted within the skew and refused beyond it")
    func iatInFuture() throws {
        #expect(try outcome(iat: 30, exp: 600) == .success)
        #expect(try outcome(iat: 60, exp: 600) == .success)
        #expect(try outcome(iat: 60.5, exp: 600) == .notYetValid)
        #expect(try outcome(iat: 61, exp: 600) == .notYetValid)
        #expect(try outcome(iat: 1, exp: 600, skew: .zero) == .notYetValid)
        #expect(try outcome(iat: 0, exp: 600, skew: .zero) == .success)
    }

    @Test("exp - iat exactly at the cap passes; one second over is expired")
    func validityCap() throws {
        #expect(try outcome(iat: -60, exp: 3_540) == .success)
        #expect(try outcome(iat: -60, exp: 3_541) == .expired)
        #expect(try outcome(iat: -10, exp: 290, cap: .seconds(300)) == .success)
        #expect(try outcome(iat: -10, exp: 290.5, cap: .seconds(300)) == .expired)
        #expect(try outcome(iat: -10, exp: 290.5, cap: .milliseconds(300_500)) == .success)
    }

    @Test("The cap refusal says the validity is above the cap")
    func capReason() throws {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims(iat: -60, exp: 86_400))
        let refusal = try fixture.validator().validate(challenge, csr: IntuneFixture.csr, now: now).refusal
        #expect(refusal?.outcome == .expired)
        #expect(refusal?.reason.contains("above the cap of 3600 s") == true, "\(refusal?.reason ?? "passed")")
    }

    @Test("An exp that is not after iat is malformed")
    func expBeforeIat() throws {
        #expect(try outcome(iat: 30, exp: 10) == .malformed)
        #expect(try outcome(iat: 10, exp: 10) == .malformed)
    }

    @Test("Expiry and future-iat reasons name the dates and the skew")
    func reasons() throws {
        let future = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims(iat: 120, exp: 600))
        let early = try fixture.validator().validate(future, csr: IntuneFixture.csr, now: now).refusal
        #expect(early?.reason.contains("120 s ahead") == true, "\(early?.reason ?? "passed")")
        #expect(early?.reason.contains("60 s skew") == true)

        let stale = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims(iat: -900, exp: -300))
        let late = try fixture.validator().validate(stale, csr: IntuneFixture.csr, now: now).refusal
        #expect(late?.reason.contains("2025-06-15T15:01:40Z") == true, "\(late?.reason ?? "passed")")
    }

    @Test(
        "Absurd NumericDates are refused with a short reason, never a trap",
        arguments: [
            ("1e300", "2e300", Outcome.notYetValid),
            ("-1e300", "-5e299", .expired),
            ("-1e300", "1750000010", .expired),
            ("1e-400", "1750000010", .malformed),
            ("1749999990", "1e400", .malformed),
            ("1749999990", "-0", .malformed),
        ]
    )
    func absurdDates(iat: String, exp: String, expected: Outcome) throws {
        let payload = #"{"iss":"i","sub":"s","iat":\#(iat),"exp":\#(exp)}"#
        let header = try ChallengeMinter.json(["alg": "RS256"])
        let challenge = try ChallengeMinter(fixture.rsa).mint(headerJSON: header, payloadJSON: Array(payload.utf8))
        let refusal = IntuneValidator(anchors: try fixture.anchors(fixture.rsa))
            .validate(challenge, csr: IntuneFixture.csr, now: now).refusal
        #expect(refusal?.outcome == expected)
        #expect((refusal?.reason.count ?? .max) < 200, "\(refusal?.reason ?? "passed")")
    }
}
