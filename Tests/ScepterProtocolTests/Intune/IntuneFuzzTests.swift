import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune validation never crashes and only refuses with challenge labels", .timeLimit(.minutes(5)))
struct IntuneFuzzTests {
    private static let challengeLabels: Set<Outcome> = [
        .malformed, .signatureInvalid, .unknownVersion, .expired, .notYetValid, .wrongAudience, .claimMismatch,
    ]

    private let fixture: IntuneFixture

    init() throws {
        fixture = try IntuneFixture.get()
    }

    /// Runs the shape check and the validator; nil on success, else the refusal's label.
    private func run(_ validator: IntuneValidator, _ challenge: String) -> Outcome? {
        var dots = 0
        for character in challenge where character == "." { dots += 1 }
        #expect(IntuneChallenge.looksSigned(challenge) == (challenge.count > 200 && dots == 2))
        return validator.validate(challenge, csr: IntuneFixture.csr, now: IntuneFixture.now).refusal?.outcome
    }

    @Test("Random strings are refused with a challenge label", arguments: [1 as UInt64, 2, 3])
    func randomStrings(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let validator = try fixture.validator()
        let alphabet = Array("ABCxyz019-_+/=.. {}\":,[]é\u{0}\n🔐")
        for round in 0..<1_000 {
            let length = Int.random(in: 0...700, using: &generator)
            let challenge = String((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? "." })
            let outcome = run(validator, challenge)
            #expect(outcome.map(Self.challengeLabels.contains) == true, "seed \(seed) round \(round)")
        }
    }

    @Test("Random JOSE headers and payloads with junk signatures are refused with a challenge label")
    func randomSegments() throws {
        var generator = SeededGenerator(seed: 42)
        let validator = try fixture.validator()
        let headers = [
            #"{"alg":"RS256"}"#, #"{"alg":"ES256"}"#, #"{"alg":"none"}"#, #"{"alg":"HS256"}"#, #"{}"#,
            #"{"alg":"RS256","crit":[]}"#, #"{"alg":1}"#, "[]", "null", "{", #"{"alg":"RS256","alg":"none"}"#,
        ]
        for round in 0..<1_000 {
            let header = headers.randomElement(using: &generator) ?? "{}"
            let payload = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                UInt8.random(in: .min ... .max, using: &generator)
            }
            let signatureLength = [0, 1, 63, 64, 65, 70, 72, 255, 256, 257].randomElement(using: &generator) ?? 0
            let signature = (0..<signatureLength).map { _ in
                UInt8.random(in: .min ... .max, using: &generator)
            }
            let padded = Bool.random(using: &generator)
            let challenge = [
                ChallengeMinter.base64url(Array(header.utf8), padded: padded),
                ChallengeMinter.base64url(payload, padded: padded),
                ChallengeMinter.base64url(signature, padded: padded),
            ].joined(separator: ".")
            let outcome = run(validator, challenge)
            #expect(outcome == .malformed || outcome == .signatureInvalid, "round \(round)")
        }
    }

    @Test(
        "Single-byte mutations and truncations of a valid challenge are all refused",
        arguments: [ChallengeMinter.ECDSAForm.raw, .der]
    )
    func mutations(form: ChallengeMinter.ECDSAForm) throws {
        let validator = try fixture.validator()
        for connector in [fixture.rsa, fixture.p256] {
            let valid = try ChallengeMinter(connector).mint(claims: IntuneFixture.claims(), ecdsaForm: form)
            #expect(run(validator, valid) == nil)

            var generator = SeededGenerator(seed: form == .raw ? 100 : 200)
            let bytes = Array(valid.utf8)
            for round in 0..<1_500 {
                var mutated = bytes
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                var replacement = UInt8.random(in: .min ... .max, using: &generator)
                if replacement == mutated[index] { replacement ^= 0x01 }
                mutated[index] = replacement
                let outcome = run(validator, String(decoding: mutated, as: UTF8.self))
                #expect(outcome.map(Self.challengeLabels.contains) == true, "round \(round) index \(index)")
            }
            for length in 0..<bytes.count {
                let outcome = run(validator, String(decoding: bytes.prefix(length), as: UTF8.self))
                #expect(outcome.map(Self.challengeLabels.contains) == true, "truncated to \(length)")
            }
        }
    }

    @Test("Validly signed but mutated payloads only ever pass or refuse with a challenge label")
    func signedMutations() throws {
        var generator = SeededGenerator(seed: 9)
        let validator = try fixture.validator()
        let minter = ChallengeMinter(fixture.rsa)
        let header = try ChallengeMinter.json(["alg": "RS256"])
        let payload = try ChallengeMinter.json(IntuneFixture.claims())
        var refused: [Outcome: Int] = [:]
        for _ in 0..<1_000 {
            var mutated = payload
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                mutated[index] = UInt8.random(in: 0x20...0x7e, using: &generator)
            }
            // Signed after mutation: the signature passes and the later gates see the damage.
            let challenge = try minter.mint(headerJSON: header, payloadJSON: mutated)
            if let outcome = run(validator, challenge) {
                #expect(Self.challengeLabels.contains(outcome))
                refused[outcome, default: 0] += 1
            }
        }
        #expect(refused[.signatureInvalid] == nil)
        #expect((refused[.malformed] ?? 0) > 0)
    }
}
