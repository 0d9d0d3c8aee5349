import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gate 2: signature", .timeLimit(.minutes(5)))
struct IntuneSignatureGateTests {
    private let fixture: IntuneFixture
    private let now = IntuneFixture.now
    private let csr = IntuneFixture.csr

    init() throws {
        fixture = try IntuneFixture.get()
    }

    @Test("RS256 from a trusted Connector passes, padded or not", arguments: [false, true])
    func rs256(padded: Bool) throws {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims(), padded: padded)
        let claim = try fixture.validator().validate(challenge, csr: csr, now: now).get()
        #expect(claim.deviceName == "LAPTOP-0042")
    }

    @Test("ES256 passes with r||s and with DER signatures", arguments: [ChallengeMinter.ECDSAForm.raw, .der])
    func es256(form: ChallengeMinter.ECDSAForm) throws {
        let challenge = try ChallengeMinter(fixture.p256).mint(claims: IntuneFixture.claims(), ecdsaForm: form)
        let parsed = try IntuneChallenge.parse(challenge).get()
        #expect(form == .der ? parsed.signature.first == 0x30 : parsed.signature.count == 64)
        #expect(throws: Never.self) { try fixture.validator().validate(challenge, csr: csr, now: now).get() }
    }

    @Test("In an HA bundle, a challenge signed by the second anchor passes")
    func haBundle() throws {
        let validator = IntuneValidator(
            anchors: try fixture.anchors(fixture.rsa, fixture.rsaStandby),
            policy: .init(audience: IntuneFixture.audience)
        )
        for connector in [fixture.rsa, fixture.rsaStandby] {
            let challenge = try ChallengeMinter(connector).mint(claims: IntuneFixture.claims())
            #expect(throws: Never.self) { try validator.validate(challenge, csr: csr, now: now).get() }
        }
    }

    @Test("A Connector outside the bundle is signature_invalid")
    func untrustedSigner() throws {
        let challenge = try ChallengeMinter(fixture.outsider).mint(claims: IntuneFixture.claims())
        let refusal = try fixture.validator().validate(challenge, csr: csr, now: now).refusal
        #expect(refusal?.outcome == .signatureInvalid)
        #expect(refusal?.reason.contains("1 RSA trust anchor") == true)
    }

    @Test("A key-type mismatch between alg and every anchor is signature_invalid")
    func noAnchorOfThatType() throws {
        let rsaOnly = IntuneValidator(anchors: try fixture.anchors(fixture.rsa))
        let es256 = try ChallengeMinter(fixture.p256).mint(claims: IntuneFixture.claims())
        let esRefusal = rsaOnly.validate(es256, csr: csr, now: now).refusal
        #expect(esRefusal?.outcome == .signatureInvalid)
        #expect(esRefusal?.reason.contains("no trust anchor has a P-256 key") == true)

        let ecOnly = IntuneValidator(anchors: try fixture.anchors(fixture.p256))
        let rs256 = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims())
        #expect(ecOnly.validate(rs256, csr: csr, now: now).refusal?.outcome == .signatureInvalid)
    }

    @Test("An RSA signature relabelled ES256 (or the reverse) fails")
    func algorithmConfusion() throws {
        let validator = try fixture.validator()
        let claims = IntuneFixture.claims()
        let asES = try ChallengeMinter(fixture.rsa).mint(header: ["alg": "ES256"], claims: claims)
        #expect(validator.validate(asES, csr: csr, now: now).refusal?.outcome == .signatureInvalid)
        let asRS = try ChallengeMinter(fixture.p256).mint(header: ["alg": "RS256"], claims: claims)
        #expect(validator.validate(asRS, csr: csr, now: now).refusal?.outcome == .signatureInvalid)
    }

    @Test("A payload changed after signing fails, even when re-encoded to the same claims")
    func tamperedPayload() throws {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims())
        let parts = challenge.split(separator: ".").map(String.init)
        var claims = IntuneFixture.claims()
        claims["sub"] = "another-device"
        let swapped = [parts[0], ChallengeMinter.base64url(try ChallengeMinter.json(claims)), parts[2]]
        let validator = try fixture.validator()
        #expect(
            validator.validate(swapped.joined(separator: "."), csr: csr, now: now).refusal?.outcome == .signatureInvalid
        )

        // The same payload with padding added is different on-wire bytes, so no longer what was signed.
        let repadded = [parts[0], parts[1] + String(repeating: "=", count: (4 - parts[1].count % 4) % 4), parts[2]]
        if repadded[1] != parts[1] {
            #expect(
                validator.validate(repadded.joined(separator: "."), csr: csr, now: now).refusal?.outcome
                    == .signatureInvalid
            )
        }
    }

    @Test(
        "Refused header algorithms are signature_invalid",
        arguments: [
            (["alg": "none"], "alg none"),
            (["alg": "HS256"], "HMAC"),
            (["alg": "HS512"], "HMAC"),
            (["typ": "JWT"], "no alg"),
            (["alg": "RS512"], "not supported"),
            (["alg": "PS256"], "not supported"),
            (["alg": "rs256"], "not supported"),
            (["alg": "RS256", "crit": ["exp"]], "crit"),
        ] as [([String: any Sendable], String)]
    )
    func refusedHeaders(header: [String: any Sendable], reason: String) throws {
        let challenge = try ChallengeMinter(fixture.rsa).mint(header: header, claims: IntuneFixture.claims())
        let refusal = try fixture.validator().validate(challenge, csr: csr, now: now).refusal
        #expect(refusal?.outcome == .signatureInvalid)
        #expect(refusal?.reason.contains(reason) == true, "\(refusal?.reason ?? "passed")")
    }

    @Test("alg none with an empty signature segment is signature_invalid, not accepted")
    func unsignedChallenge() throws {
        let header = ChallengeMinter.base64url(try ChallengeMinter.json(["alg": "none"]))
        let payload = ChallengeMinter.base64url(try ChallengeMinter.json(IntuneFixture.claims()))
        let refusal = try fixture.validator().validate("\(header).\(payload).", csr: csr, now: now).refusal
        #expect(refusal?.outcome == .signatureInvalid)
    }

    @Test("An HS256 challenge keyed with the anchor's public key bytes is refused")
    func hmacWithPublicKey() throws {
        let header = ChallengeMinter.base64url(try ChallengeMinter.json(["alg": "HS256"]))
        let payload = ChallengeMinter.base64url(try ChallengeMinter.json(IntuneFixture.claims()))
        let signature = ChallengeMinter.base64url(try fixture.rsa.der.prefix(32))
        let refusal = try fixture.validator().validate("\(header).\(payload).\(signature)", csr: csr, now: now).refusal
        #expect(refusal?.outcome == .signatureInvalid)
    }

    @Test("An ES256 signature of the wrong size, or truncated DER, is signature_invalid")
    func badECDSAEncoding() throws {
        let minter = ChallengeMinter(fixture.p256)
        let validator = try fixture.validator()
        for form in [ChallengeMinter.ECDSAForm.raw, .der] {
            let challenge = try minter.mint(claims: IntuneFixture.claims(), ecdsaForm: form)
            let parsed = try IntuneChallenge.parse(challenge).get()
            let base = challenge.split(separator: ".").prefix(2).joined(separator: ".")
            let cut = base + "." + ChallengeMinter.base64url(parsed.signature.dropLast())
            let refusal = validator.validate(cut, csr: csr, now: now).refusal
            #expect(refusal?.outcome == .signatureInvalid)
        }
    }
}
