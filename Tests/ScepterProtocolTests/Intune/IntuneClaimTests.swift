import ScepterTesting
import Crypto
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gate 3: version and claims", .timeLimit(.minutes(5)))
struct IntuneClaimTests {
    private let fixture: IntuneFixture
    private let now = IntuneFixture.now
    private let csr = IntuneFixture.csr

    init() throws {
        fixture = try IntuneFixture.get()
    }

    private func validate(_ claims: [String: Any], csr: IntuneValidator.CSRIdentity? = nil) throws -> Result<IntuneClaim, Refusal> {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: claims)
        return try fixture.validator().validate(challenge, csr: csr ?? self.csr, now: now)
    }

    @Test("No version claim and version v1 both read v1 claims")
    func v1() throws {
        var claims = IntuneFixture.claims()
        let withoutVersion = try validate(claims).get()
        #expect(withoutVersion.version == nil)
        claims["version"] = "v1"
        let withVersion = try validate(claims).get()
        #expect(withVersion.version == "v1")
        #expect(withVersion.subject == withoutVersion.subject)
    }

    @Test("Any other version is unknown_version", arguments: ["v2", "V1", "1", "", "v1 "])
    func unknownVersion(version: String) throws {
        var claims = IntuneFixture.claims()
        claims["version"] = version
        let refusal = try validate(claims).refusal
        #expect(refusal?.outcome == .unknownVersion)
        // What an operator reports on a new Connector release: the claims' names and the device, never their other values.
        let sub = try #require(claims["sub"] as? String)
        #expect(refusal?.reason.contains(#"claims ["aud", "device_name", "exp", "iat", "iss", "nonce", "san_dns", "san_rfc822", "san_upn", "sub", "version"]"#) == true, "\(refusal?.reason ?? "")")
        #expect(refusal?.reason.contains("sub \(sub.debugDescription)") == true, "\(refusal?.reason ?? "")")
        #expect(refusal?.reason.contains("alice@corp.example") == false)
    }

    @Test("A non-string version is unknown_version")
    func nonStringVersion() throws {
        for version: Any in [1, 2.5, NSNull(), ["v1"], ["v": 1]] {
            var claims = IntuneFixture.claims()
            claims["version"] = version
            #expect(try validate(claims).refusal?.outcome == .unknownVersion)
        }
    }

    @Test("All v1 claims are read, with NumericDates and single-string aud")
    func decodesEveryClaim() throws {
        let claim = try validate(IntuneFixture.claims()).get()
        #expect(
            claim
                == IntuneClaim(
                    issuer: "https://connector.corp.example/tenant-0f0e",
                    subject: "7c1f6a1e-5b2d-4c8e-9a0b-1d2e3f405162",
                    audience: [IntuneFixture.audience],
                    issuedAt: now.addingTimeInterval(-60),
                    expiresAt: now.addingTimeInterval(1_740),
                    nonce: "b5f7c1d2e3a4",
                    deviceName: "LAPTOP-0042",
                    sanDNS: ["laptop-0042.corp.example"],
                    sanRFC822: ["alice@corp.example"],
                    sanUPN: ["alice@corp.example"]
                )
        )
    }

    @Test("Optional claims may be absent or null; fractional NumericDates are kept")
    func optionalClaims() throws {
        var claims = IntuneFixture.claims(iat: -0.25, exp: 0.5)
        for key in ["nonce", "device_name", "san_dns", "san_rfc822", "san_upn"] {
            claims[key] = nil
        }
        claims["nonce"] = NSNull()
        // Without device_name and SAN claims the CSR may carry no CN and no SAN (an empty claim dimension allows no value).
        let claim = try validate(claims, csr: IntuneValidator.CSRIdentity(commonName: nil)).get()
        #expect(claim.nonce == nil && claim.deviceName == nil)
        #expect(claim.sanDNS.isEmpty && claim.sanRFC822.isEmpty && claim.sanUPN.isEmpty)
        #expect(claim.issuedAt.timeIntervalSince1970 == now.timeIntervalSince1970 - 0.25)
        #expect(claim.expiresAt.timeIntervalSince1970 == now.timeIntervalSince1970 + 0.5)
    }

    @Test(
        "Missing or mistyped required claims are malformed",
        arguments: [
            ("iat", nil), ("exp", nil), ("iss", nil), ("sub", nil),
            ("iss", ""), ("sub", ""), ("iat", "1750000000"), ("exp", true),
            ("san_dns", "laptop-0042.corp.example"), ("san_upn", [1]), ("aud", 42), ("aud", [1]),
            ("nonce", 5), ("device_name", ["LAPTOP-0042"]),
        ] as [(String, (any Sendable)?)]
    )
    func malformedClaims(key: String, value: (any Sendable)?) throws {
        var claims = IntuneFixture.claims()
        claims[key] = value
        let refusal = try validate(claims).refusal
        #expect(refusal?.outcome == .malformed)
        #expect(refusal?.reason.contains(key) == true, "\(refusal?.reason ?? "passed")")
    }

    @Test("A signed payload that is not a JSON object is malformed", arguments: ["[1,2]", "\"text\"", "", "{"])
    func payloadNotObject(payload: String) throws {
        let header = try ChallengeMinter.json(["alg": "RS256"])
        let challenge = try ChallengeMinter(fixture.rsa).mint(headerJSON: header, payloadJSON: Array(payload.utf8))
        #expect(try fixture.validator().validate(challenge, csr: csr, now: now).refusal?.outcome == .malformed)
    }

    @Test("A claim survives a Codable round trip, aud arrays included")
    func codableRoundTrip() throws {
        var claims = IntuneFixture.claims()
        claims["aud"] = ["a", "b"]
        claims["version"] = "v1"
        let original = try IntuneClaim.parse(verifiedPayload: try ChallengeMinter.json(claims)).get()
        #expect(original.audience == ["a", "b"])
        let decoded = try JSONDecoder().decode(IntuneClaim.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }

    @Test("The replay key is the nonce when there is one")
    func replayKeyNonce() throws {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims())
        let claim = try fixture.validator().validate(challenge, csr: csr, now: now).get()
        #expect(claim.replayKey(challenge: challenge) == "b5f7c1d2e3a4")
    }

    @Test("Without a nonce, the replay key hashes the signed part, so re-spelling the signature keeps it")
    func replayKeyHash() throws {
        for nonce: Any? in [nil, ""] {
            var claims = IntuneFixture.claims()
            claims["nonce"] = nonce
            let challenge = try ChallengeMinter(fixture.rsa).mint(claims: claims)
            let claim = try fixture.validator().validate(challenge, csr: csr, now: now).get()
            let signed = challenge.split(separator: ".").prefix(2).joined(separator: ".")
            let expected = SHA256.hash(data: Array(signed.utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(claim.replayKey(challenge: challenge) == expected)

            // 256 signature bytes leave a remainder, so the padded spelling differs and still verifies.
            let padded = challenge + "=="
            #expect(padded != challenge)
            let repeated = try fixture.validator().validate(padded, csr: csr, now: now).get()
            #expect(repeated.replayKey(challenge: padded) == expected)
        }
    }

    @Test("The device key is (sub, iss)")
    func deviceKey() throws {
        let claim = try validate(IntuneFixture.claims()).get()
        #expect(
            claim.deviceKey
                == IntuneClaim.DeviceKey(
                    subject: "7c1f6a1e-5b2d-4c8e-9a0b-1d2e3f405162",
                    issuer: "https://connector.corp.example/tenant-0f0e"
                )
        )
    }

    @Test("The device key's storage form cannot collide across different (sub, iss) pairs")
    func deviceStorageKey() {
        let a = IntuneClaim.DeviceKey(subject: "b c", issuer: "a")
        let b = IntuneClaim.DeviceKey(subject: "c", issuer: "a b")
        #expect(a.storageKey == "1:a b c")
        #expect(b.storageKey == "3:a b c")
        #expect(a.storageKey != b.storageKey)
    }
}
