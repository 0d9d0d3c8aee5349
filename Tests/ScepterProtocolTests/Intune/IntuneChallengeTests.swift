import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune challenge shape and parsing", .timeLimit(.minutes(5)))
struct IntuneChallengeTests {
    private static func dotted(length: Int, dots: Int) -> String {
        String(repeating: ".", count: dots) + String(repeating: "a", count: length - dots)
    }

    @Test("A signed challenge is longer than 200 characters with exactly two dots")
    func shape() {
        #expect(IntuneChallenge.looksSigned(Self.dotted(length: 201, dots: 2)))
        #expect(!IntuneChallenge.looksSigned(Self.dotted(length: 200, dots: 2)))
        #expect(!IntuneChallenge.looksSigned(Self.dotted(length: 500, dots: 1)))
        #expect(!IntuneChallenge.looksSigned(Self.dotted(length: 500, dots: 3)))
        #expect(!IntuneChallenge.looksSigned(""))
        #expect(!IntuneChallenge.looksSigned("static-password.with.dots"))
    }

    @Test("Length counts characters, so a long multi-byte static password is not mistaken for a JWS")
    func shapeCountsCharacters() {
        let password = "é.ü." + String(repeating: "ö", count: 150)
        #expect(password.utf8.count > 200)
        #expect(!IntuneChallenge.looksSigned(password))
    }

    @Test("A minted challenge looks signed and parses, keeping the on-wire signing input")
    func parsesMinted() throws {
        let fixture = try IntuneFixture.get()
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: IntuneFixture.claims())
        #expect(IntuneChallenge.looksSigned(challenge))

        let parsed = try IntuneChallenge.parse(challenge).get()
        #expect(parsed.header.algorithm == "RS256")
        #expect(!parsed.header.hasCriticalExtensions)
        let onWire = challenge.split(separator: ".").prefix(2).joined(separator: ".")
        #expect(parsed.signingInput == Array(onWire.utf8))
        #expect(parsed.signature.count == 256)
    }

    @Test("Padded and unpadded base64url decode to the same bytes in every segment", arguments: [false, true])
    func padding(padded: Bool) throws {
        var generator = SeededGenerator(seed: 7)
        for length in 0..<40 {
            let payload = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let signature = (0..<(length + 1)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let challenge = [
                ChallengeMinter.base64url(Array(#"{"alg":"RS256"}"#.utf8), padded: padded),
                ChallengeMinter.base64url(payload, padded: padded),
                ChallengeMinter.base64url(signature, padded: padded),
            ].joined(separator: ".")
            let parsed = try IntuneChallenge.parse(challenge).get()
            #expect(parsed.payload == payload)
            #expect(parsed.signature == signature)
        }
    }

    @Test(
        "Segments that are not canonical base64url are malformed",
        arguments: [
            "ab+c",  // standard base64 alphabet
            "ab/c",
            "abc=d",  // padding in the middle
            "a",  // one leftover character cannot be a byte
            "ab=",  // two characters need two pads
            "abc==",  // three characters need one pad
            "abcd=",  // nothing to pad
            "ab===",
            "aB",  // non-zero trailing bits: "aQ" is the canonical spelling
            "ab c",
        ]
    )
    func notBase64url(segment: String) {
        let header = ChallengeMinter.base64url(Array(#"{"alg":"RS256"}"#.utf8))
        for challenge in ["\(header).\(segment).c2ln", "\(header).e30.\(segment)", "\(segment).e30.c2ln"] {
            let result = IntuneChallenge.parse(challenge)
            #expect(result.refusal?.outcome == .malformed, "\(challenge)")
        }
    }

    @Test("Anything but three segments is malformed", arguments: ["", "a", "a.b", "a.b.c.d", "....."])
    func segmentCount(challenge: String) {
        #expect(IntuneChallenge.parse(challenge).refusal?.outcome == .malformed)
    }

    @Test(
        "A header that is not a JSON object, or whose alg is not a string, is malformed",
        arguments: [#"["alg","RS256"]"#, #""RS256""#, "{", "", "null", #"{"alg":256}"#, #"{"alg":null}"#]
    )
    func headerNotObject(header: String) {
        let challenge = ChallengeMinter.base64url(Array(header.utf8)) + ".e30.c2ln"
        #expect(IntuneChallenge.parse(challenge).refusal?.outcome == .malformed)
    }

    @Test("Oversized challenges and headers are refused before any JSON is read")
    func bounds() {
        let longPayload = String(repeating: "A", count: IntuneChallenge.maximumLength)
        let tooLong = "e30.\(longPayload).c2ln"
        let refusal = IntuneChallenge.parse(tooLong).refusal
        #expect(refusal?.outcome == .malformed)
        #expect(refusal?.reason.contains("limit") == true)
        #expect((refusal?.reason.count ?? .max) < 200)

        let bigHeader =
            #"{"alg":"RS256","x":""# + String(repeating: "x", count: IntuneChallenge.maximumHeaderLength) + #""}"#
        let headerRefusal = IntuneChallenge.parse(ChallengeMinter.base64url(Array(bigHeader.utf8)) + ".e30.c2ln")
            .refusal
        #expect(headerRefusal?.outcome == .malformed)
        #expect(headerRefusal?.reason.contains("JOSE header is") == true)
    }

    @Test("crit is reported, alg is read, other header members are ignored")
    func headerMembers() throws {
        let header = #"{"alg":"ES256","crit":["b64"],"b64":false,"kid":"k1","x5u":"https://evil.example"}"#
        let parsed = try IntuneChallenge.parse(ChallengeMinter.base64url(Array(header.utf8)) + ".e30.c2ln").get()
        #expect(parsed.header == IntuneChallenge.Header(algorithm: "ES256", hasCriticalExtensions: true))
    }
}
