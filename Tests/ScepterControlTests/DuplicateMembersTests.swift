import Testing
@testable import ScepterControl

/// A revocation body naming a member twice is refused: which one a parser keeps differs between parsers.
@Suite("Admin API bodies: a member given twice")
struct DuplicateMembersTests {
    @Test(
        "Found, by path, as JSON reads the names",
        arguments: [
            (#"{"dryRun":false,"dryRun":true}"#, "dryRun"),
            (#"{"selector":{"profile":"a","device":"b","profile":"c"}}"#, "selector.profile"),
            (#"{"dryRun":false,"dry\u0052un":true}"#, "dryRun"),
            (#" { "a" : [ {"b":1}, {"b":2,"b":3} ] } "#, "a.b"),
            (#"{"x\"y":1,"x\"y":2}"#, #"x"y"#),
        ])
    func found(_ input: (body: String, path: String)) {
        #expect(DuplicateMembers.first(in: Array(input.body.utf8)) == input.path)
    }

    @Test(
        "None in distinct names, names repeated in different objects, or input that is not JSON (the decoder answers that)",
        arguments: [
            #"{"selector":{"profile":"default"},"reason":"keyCompromise","dryRun":true}"#,
            #"{"a":{"b":1},"c":{"b":1},"b":[{"b":1},{"b":2}]}"#,
            #"{"a":"{\"a\":1,\"a\":2}"}"#,
            "", "not json", #"{"a":1,"a"#, #"{"a\u00"#, "[1,2,", #"{"a" 1}"#,
            String(repeating: "[", count: 5000), String(repeating: #"{"a":"#, count: 2000),
        ])
    func none(_ body: String) {
        #expect(DuplicateMembers.first(in: Array(body.utf8)) == nil)
    }
}
