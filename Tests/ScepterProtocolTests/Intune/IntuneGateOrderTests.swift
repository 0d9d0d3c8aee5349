import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gates run in order; the first failure decides the label", .timeLimit(.minutes(5)))
struct IntuneGateOrderTests {
    private let fixture: IntuneFixture

    init() throws {
        fixture = try IntuneFixture.get()
    }

    /// A CSR that matches none of the claim's values.
    private let wrongCSR = IntuneValidator.CSRIdentity(commonName: "OTHER", dnsNames: ["other.example"])

    private func outcome(_ challenge: String, csr: IntuneValidator.CSRIdentity) throws -> Outcome? {
        try fixture.validator().validate(challenge, csr: csr, now: IntuneFixture.now).refusal?.outcome
    }

    /// Claims failing the version, time, audience and binding gates at once.
    private func claimsFailingEverything() -> [String: Any] {
        var claims = IntuneFixture.claims(iat: -7_200, exp: -3_600)
        claims["version"] = "v9"
        claims["aud"] = "https://wrong.example"
        return claims
    }

    @Test("Malformed structure comes before the alg check")
    func malformedFirst() throws {
        let header = ChallengeMinter.base64url(try ChallengeMinter.json(["alg": "none"]))
        let payload = ChallengeMinter.base64url(try ChallengeMinter.json(claimsFailingEverything()))
        #expect(try outcome("\(header).\(payload).not+base64", csr: wrongCSR) == .malformed)
    }

    @Test("A bad signature hides every later problem, including an unreadable payload")
    func signatureBeforeVersion() throws {
        let forged = try ChallengeMinter(fixture.outsider).mint(claims: claimsFailingEverything())
        #expect(try outcome(forged, csr: wrongCSR) == .signatureInvalid)

        let header = try ChallengeMinter.json(["alg": "RS256"])
        let garbage = try ChallengeMinter(fixture.outsider).mint(
            headerJSON: header,
            payloadJSON: Array("not json".utf8)
        )
        #expect(try outcome(garbage, csr: wrongCSR) == .signatureInvalid)
    }

    @Test("Each gate's label wins over every gate after it")
    func laterGatesShadowed() throws {
        let minter = ChallengeMinter(fixture.rsa)
        var claims = claimsFailingEverything()
        #expect(try outcome(try minter.mint(claims: claims), csr: wrongCSR) == .unknownVersion)

        claims["version"] = nil
        #expect(try outcome(try minter.mint(claims: claims), csr: wrongCSR) == .expired)

        let future = IntuneFixture.claims(iat: 600, exp: 1_200).merging(["aud": "https://wrong.example"]) { $1 }
        #expect(try outcome(try minter.mint(claims: future), csr: wrongCSR) == .notYetValid)

        let overCap = IntuneFixture.claims(iat: -60, exp: 7_200).merging(["aud": "https://wrong.example"]) { $1 }
        #expect(try outcome(try minter.mint(claims: overCap), csr: wrongCSR) == .expired)

        claims = IntuneFixture.claims().merging(["aud": "https://wrong.example"]) { $1 }
        #expect(try outcome(try minter.mint(claims: claims), csr: wrongCSR) == .wrongAudience)

        #expect(try outcome(try minter.mint(claims: IntuneFixture.claims()), csr: wrongCSR) == .claimMismatch)
        #expect(try outcome(try minter.mint(claims: IntuneFixture.claims()), csr: IntuneFixture.csr) == nil)
    }
}
