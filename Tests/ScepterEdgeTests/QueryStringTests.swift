import Testing
@testable import ScepterEdge
import ScepterProtocol

@Suite("Query strings as SCEP clients write them", .timeLimit(.minutes(5)))
struct QueryStringTests {
    @Test func keysAreCaseInsensitiveAndValuesRaw() {
        let query = QueryString("Operation=PKIOperation&message=ab+c/d==&empty")
        #expect(query.rawValue(for: "operation") == "PKIOperation")
        #expect(query.rawValue(for: "MESSAGE") == "ab+c/d==")
        #expect(query.rawValue(for: "empty") == "")
        #expect(query.rawValue(for: "missing") == nil)
    }

    @Test func percentDecodingKeepsPlusAndMalformedEscapes() {
        #expect(QueryString.percentDecode("a%2Bb%2fc%3D") == "a+b/c=")
        #expect(QueryString.percentDecode("a+b") == "a+b")
        #expect(QueryString.percentDecode("100%") == "100%")
        #expect(QueryString.percentDecode("%zz%4") == "%zz%4")
    }
}
