import Testing
@testable import ScepterRedis

@Suite("RESP parsing with hiredis' reader", .timeLimit(.minutes(5)))
struct RESPReaderTests {
    @Test func repliesFedOneByteAtATimeComeOutWhole() throws {
        let wire = Array("*4\r\n:-42\r\n$5\r\na\r\n\0b\r\n*2\r\n+OK\r\n$-1\r\n-ERR bad\r\n+PONG\r\n".utf8)
        let reader = RESPReader()
        var values: [RedisValue] = []
        for byte in wire {
            try reader.feed([byte])
            while let value = try reader.next() { values.append(value) }
        }
        #expect(
            values == [
                .array([.integer(-42), .bulk(Array("a\r\n\0b".utf8)), .array([.simple("OK"), .bulk(nil)]), .error("ERR bad")]),
                .simple("PONG"),
            ])
    }

    @Test func anIncompleteReplyYieldsNothingYet() throws {
        let reader = RESPReader()
        try reader.feed("$10\r\nhello".utf8)
        #expect(try reader.next() == nil)
        try reader.feed("world\r\n".utf8)
        #expect(try reader.next() == .bulk(Array("helloworld".utf8)))
        #expect(try reader.next() == nil)
    }

    @Test func bytesThatAreNotRESPThrowAProtocolError() throws {
        let reader = RESPReader()
        try reader.feed("HTTP/1.1 200 OK\r\n".utf8)
        #expect(throws: RedisError.self) { try reader.next() }
    }

    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (String(repeating: "a", count: 1000), "291e9a6c66994949b57ba5e650361e98fc36b1ba"),
    ])
    func scriptNamesAreSHA1(source: String, digest: String) {
        #expect(RedisScript(source).sha1 == digest)
    }
}
