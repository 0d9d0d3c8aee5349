import Foundation
import ScepterEmbedded
import Testing

@Suite("scepter dev's generated secrets")
struct DevelopmentFilesTests {
    @Test("The challenge is letters and digits only (PrintableString-safe, so certmonger sends it), every one of them in use")
    func challengeAlphabet() {
        let alphanumerics = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var seen = Set<Character>()
        for _ in 0..<200 {
            let challenge = DevelopmentFiles.randomChallenge(length: 24)
            #expect(challenge.count == 24 && challenge.allSatisfy(alphanumerics.contains), "\(challenge)")
            seen.formUnion(challenge)
        }
        // 4800 draws from 62 characters: a character missing would mean a broken alphabet, not chance (p < 10⁻³⁴).
        #expect(seen == alphanumerics)
        #expect(DevelopmentFiles.randomChallenge(length: 24) != DevelopmentFiles.randomChallenge(length: 24))
    }
}
