import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Synchronization
import Testing
import ScepterTesting
@testable import scepter

/// The request deadline on an embedded channel with a clock the test moves:
/// a connection must deliver each complete request within the timeout of
/// opening or of its previous answer; answering does not count.
@Suite("Request deadline: slow and idle connections are closed, slow answers are not", .timeLimit(.minutes(1)))
struct RequestDeadlineHandlerTests {
    /// The handler's timeout, and as the event loop counts it.
    static let timeout = Duration.seconds(2)
    static let loopTimeout = TimeAmount.seconds(timeout.components.seconds)

    /// An open connection with the handler, and how often it expired.
    struct Connection {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let expiries = Counter()

        final class Counter: Sendable {
            let value = Atomic<Int>(0)
        }

        init() throws {
            channel = EmbeddedChannel(loop: loop)
            let expiries = self.expiries
            try channel.pipeline.syncOperations.addHandler(
                RequestDeadlineHandler(timeout: RequestDeadlineHandlerTests.timeout, onExpiry: { expiries.value.add(1, ordering: .relaxed) }))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        }

        var isOpen: Bool { channel.isActive }
        var expired: Int { expiries.value.load(ordering: .relaxed) }

        func advance(_ amount: TimeAmount) { loop.advanceTime(by: amount) }

        /// Open until the clock, started now, has run the whole timeout;
        /// closed (once) at that instant.
        func expectClosedExactlyAtTheTimeout(sourceLocation: SourceLocation = #_sourceLocation) {
            advance(RequestDeadlineHandlerTests.loopTimeout - .milliseconds(1))
            #expect(isOpen, "closed before the timeout", sourceLocation: sourceLocation)
            advance(.milliseconds(1))
            #expect(!isOpen, "open at the timeout", sourceLocation: sourceLocation)
            #expect(expired == 1, sourceLocation: sourceLocation)
        }

        func send(_ part: HTTPRequestPart) throws {
            guard isOpen else { return }
            try channel.writeInbound(part)
        }

        func answer(_ part: HTTPResponsePart) throws {
            guard isOpen else { return }
            try channel.writeOutbound(part)
        }

        static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/scep?operation=PKIOperation"))
        static let body = HTTPRequestPart.body(ByteBuffer(bytes: [0x30, 0x82]))
        static let answerHead = HTTPResponsePart.head(HTTPResponse(status: .ok))
    }

    @Test("A connection that sends nothing is closed at the timeout, not before")
    func silentConnection() throws {
        try Connection().expectClosedExactlyAtTheTimeout()
    }

    @Test("Slowloris: a request dribbled in parts does not restart the clock")
    func dribbledRequest() throws {
        let connection = try Connection()
        try connection.send(Connection.head)
        for _ in 0..<3 {
            connection.advance(.milliseconds(600))
            try connection.send(Connection.body)
        }
        #expect(connection.isOpen)
        connection.advance(.milliseconds(200))
        #expect(!connection.isOpen, "2 s after opening, the request is still not complete")
    }

    @Test("A complete request stops the clock while it is answered; the answer's end restarts it")
    func slowAnswerThenIdle() throws {
        let connection = try Connection()
        try connection.send(Connection.head)
        try connection.send(.end(nil))
        // Intune or the control plane taking long is not the client's doing.
        connection.advance(.seconds(60))
        #expect(connection.isOpen)
        try connection.answer(Connection.answerHead)
        connection.advance(.seconds(60))
        #expect(connection.isOpen, "the answer is not finished yet")
        try connection.answer(.end(nil))
        // Keep-alive: the next request has the timeout to arrive; a head alone is not one.
        try connection.send(Connection.head)
        connection.expectClosedExactlyAtTheTimeout()
    }

    @Test("Requests one after another on a keep-alive connection each get the whole timeout")
    func keepAlive() throws {
        let connection = try Connection()
        for _ in 0..<5 {
            connection.advance(.milliseconds(1_500))
            try connection.send(Connection.head)
            try connection.send(.end(nil))
            connection.advance(.milliseconds(300))
            try connection.answer(Connection.answerHead)
            try connection.answer(.end(nil))
        }
        #expect(connection.isOpen)
        #expect(connection.expired == 0)
    }

    /// Seeded random sequences of request parts, answers and clock steps
    /// against a model: the clock runs from opening and from each answer's
    /// end, stops at each request's end, and the connection is closed once
    /// it has run the timeout.
    @Test("Random sequences close the connection exactly when the model says", arguments: [UInt64(1), 2, 3, 4])
    func randomSequences(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var closed = 0
        for sequence in 0..<100 {
            let connection = try Connection()
            var now: Int64 = 0
            var armedAt: Int64? = 0
            var open = true
            var events: [String] = []
            for _ in 0..<30 {
                switch random.next() % 5 {
                case 0:
                    let step = Int64(random.next() % 1_500)
                    connection.advance(.milliseconds(step))
                    now += step
                    events.append("+\(step) ms")
                case 1:
                    try connection.send(random.next() % 2 == 0 ? Connection.head : Connection.body)
                    events.append("part")
                case 2:
                    try connection.send(.end(nil))
                    if open { armedAt = nil }
                    events.append("request end")
                case 3:
                    try connection.answer(Connection.answerHead)
                    events.append("answer head")
                default:
                    try connection.answer(.end(nil))
                    if open { armedAt = now }
                    events.append("answer end")
                }
                if let armedAt, now - armedAt >= Self.loopTimeout.nanoseconds / 1_000_000 { open = false }
                guard connection.isOpen == open else {
                    Issue.record("seed \(seed), sequence \(sequence): open \(connection.isOpen), model \(open) after \(events)")
                    return
                }
            }
            #expect(connection.expired == (open ? 0 : 1))
            if !open { closed += 1 }
        }
        // Both endings occur, or the sequences prove little.
        #expect((20...80).contains(closed), "\(closed) of 100 sequences closed")
    }
}
