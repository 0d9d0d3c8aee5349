import Foundation
import Testing
import ScepterProtocol

@Suite("Base64 as SCEP clients send it", .timeLimit(.minutes(5)))
struct Base64Tests {
    static let bytes: [UInt8] = Array(0...255) + [0xFB, 0xFF, 0xBF]

    @Test func roundTrips() {
        for length in 0..<40 {
            let slice = Array(Self.bytes.prefix(length))
            #expect(Base64.decode(Base64.encode(slice)) == slice)
        }
    }

    @Test func toleratesMissingPaddingUrlAlphabetWhitespaceAndSpacesForPlus() {
        let standard = Base64.encode(Self.bytes)
        #expect(Base64.decode(standard.replacingOccurrences(of: "=", with: "")) == Self.bytes)
        #expect(Base64.decode(standard.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")) == Self.bytes)
        #expect(Base64.decode(standard.replacingOccurrences(of: "+", with: " "), spaceIsPlus: true) == Self.bytes)
        #expect(Base64.decode(String(standard.enumerated().map { $0.offset % 64 == 63 ? "\($0.element)\n" : "\($0.element)" }.joined())) == Self.bytes)
    }

    @Test(arguments: ["*", "ab$c", "QQ==QQ", "Q"])
    func refusesWhatIsNotBase64(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
