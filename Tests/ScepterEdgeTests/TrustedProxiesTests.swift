import Testing
import ScepterEdge
import ScepterProtocol
import ScepterTesting

/// Which address a request comes from behind load balancers: the address
/// that goes into audit records and keys the per-source limit, read from
/// `X-Forwarded-For`, a header anyone can write.
@Suite("Client address: SCEPTER_TRUSTED_PROXIES and X-Forwarded-For", .timeLimit(.minutes(1)))
struct TrustedProxiesTests {
    static func proxies(_ value: String) -> (TrustedProxies, [ConfigurationProblem]) {
        var settings = Settings(environment: ["SCEPTER_TRUSTED_PROXIES": value])
        let proxies = TrustedProxies.load(&settings)
        return (proxies, settings.problems)
    }

    static let lan = proxies("10.0.0.0/8, fd00::/8, 192.0.2.7").0

    @Test("Addresses and CIDR blocks of both families are accepted", arguments: [
        "10.0.0.0/8", "192.0.2.7", "192.0.2.7/32", "0.0.0.0/0", "fd00::/8", "::1", "::/0", "2001:db8::/128", "::ffff:10.0.0.0/104",
    ])
    func acceptsEntries(entry: String) {
        #expect(Self.proxies(entry).1 == [])
    }

    @Test("Anything else is refused, naming the variable and the entry", arguments: [
        "10.0.0.0/33", "fd00::/129", "10.0.0.0/-1", "10.0.0.0/", "/8", "lb.example.com", "10.0.0.0/8/9", "10.0.0.0/ 8",
        "10.0.0.1:8080", "[fd00::1]", "fe80::1%eth0", "::ffff:10.0.0.0/95", "999.0.0.1",
    ])
    func refusesEntries(entry: String) {
        let problems = Self.proxies(entry).1
        #expect(problems.count == 1)
        #expect(problems.first?.variable == "SCEPTER_TRUSTED_PROXIES")
        #expect(problems.first?.message.contains("\"\(entry)\"") == true, "\(problems)")
        #expect(problems.first?.message.contains("no port, no host name") == true, "\(problems)")
    }

    @Test("From a peer that is not a trusted proxy the header is ignored")
    func untrustedPeer() {
        #expect(Self.lan.client(peer: "203.0.113.5", forwardedFor: ["198.51.100.1"]) == "203.0.113.5")
        #expect(TrustedProxies.none.client(peer: "10.0.0.1", forwardedFor: ["198.51.100.1"]) == "10.0.0.1")
        #expect(Self.lan.client(peer: nil, forwardedFor: ["198.51.100.1"]) == nil)
    }

    @Test("From a trusted proxy: the rightmost address that is not a proxy, across header lines")
    func rightmostUntrusted() {
        // What a client wrote itself stays on the left, unbelieved.
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["6.6.6.6, 198.51.100.1, 10.9.9.9"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["6.6.6.6", "198.51.100.1,10.9.9.9", "192.0.2.7"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "fd00::1", forwardedFor: ["2001:db8::5"]) == "2001:db8::5")
        // Only proxies: the leftmost of them; no header: the peer.
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["10.0.0.9, 192.0.2.7"]) == "10.0.0.9")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: []) == "10.1.2.3")
    }

    @Test("The port a proxy appends is dropped, so a client is one key however many connections it opens")
    func portsAreDropped() {
        // Azure Application Gateway writes IP:port.
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1:51324"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1:51325"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["[2001:db8::5]:443, 10.0.0.4:80"]) == "2001:db8::5")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["[2001:db8::5]"]) == "2001:db8::5")
    }

    @Test("An IPv4 client of a dual-stack listener is its IPv4 address, and a mapped proxy is trusted by its IPv4 block")
    func mappedAddresses() {
        #expect(TrustedProxies.none.client(peer: "::ffff:203.0.113.5", forwardedFor: []) == "203.0.113.5")
        #expect(Self.lan.client(peer: "::ffff:10.1.2.3", forwardedFor: ["198.51.100.1"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, ::ffff:10.0.0.4"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["::ffff:198.51.100.1"]) == "198.51.100.1")
    }

    @Test("Garbage in the chain: nothing left of it is believed", arguments: [
        "unknown", "198.51.100.1:99999", "198.51.100.1:", "198.51.100.1:80:90", "[2001:db8::5", "[198.51.100.1]:80",
        "2001:db8::5]:80", "fe80::1%eth0", "198.51.100.1\u{0}", "_hidden", "obfuscated-proxy",
        String(repeating: "1", count: 10_000), String(repeating: "9", count: 64) + ".1.1.1",
    ])
    func garbage(hop: String) {
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, \(hop), 10.0.0.4"]) == "10.1.2.3")
    }

    @Test("Empty list elements are no hops (RFC 9110 §5.6.1)")
    func emptyElements() {
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1, , 10.0.0.4,"]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: ["198.51.100.1,,\t,10.0.0.4", " "]) == "198.51.100.1")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: [" , "]) == "10.1.2.3")
    }

    @Test("A header of 10 000 proxies is read through to its leftmost")
    func longChain() {
        let chain = (0..<10_000).map { "10.0.\($0 / 256).\($0 % 256)" }.joined(separator: ", ")
        #expect(Self.lan.client(peer: "10.1.2.3", forwardedFor: [chain]) == "10.0.0.0")
    }

    /// Random headers from a seeded generator: whatever comes back is the
    /// peer or an address of the header, and everything to its right is a
    /// trusted proxy.
    @Test("Random headers: the answer is the peer or a hop with only proxies to its right")
    func randomHeaders() {
        var random = SeededGenerator(seed: 0x5CE9_7E12)
        let tokens = [
            "10.0.0.4", "10.200.1.1", "192.0.2.7", "fd00::9", "198.51.100.1", "203.0.113.77", "2001:db8::5", "::ffff:10.0.0.8",
            "::ffff:198.51.100.2", "198.51.100.1:443", "[2001:db8::6]:8443", "[fd00::1]", "garbage", "", " ", "1.2.3", "[::1",
        ]
        for _ in 0..<5_000 {
            let elements = (0..<Int(random.next() % 7)).map { _ in tokens[Int(random.next() % UInt64(tokens.count))] }
            let lines = elements.isEmpty ? [] : [elements.joined(separator: random.next() % 2 == 0 ? "," : ", ")]
            let hops = elements.filter { !$0.allSatisfy(\.isWhitespace) }
            let answer = Self.lan.client(peer: "10.1.2.3", forwardedFor: lines)
            if answer == "10.1.2.3" { continue }
            let plain = hops.map { hop -> String in
                Self.lan.client(peer: "10.1.2.3", forwardedFor: [hop]) ?? ""
            }
            guard let index = plain.lastIndex(where: { $0 == answer }) else {
                Issue.record("\(answer ?? "nil") is neither the peer nor a hop of \(hops)")
                continue
            }
            #expect(hops[(index + 1)...].allSatisfy(Self.isProxy), "\(answer ?? "nil") from \(hops)")
        }
    }

    static func isProxy(_ hop: String) -> Bool {
        ["10.0.0.4", "10.200.1.1", "192.0.2.7", "fd00::9", "::ffff:10.0.0.8", "[fd00::1]"].contains(hop)
    }
}
