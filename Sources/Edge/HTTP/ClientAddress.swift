import Foundation
import ScepterProtocol

/// Which address a request comes from, behind load balancers:
/// `SCEPTER_TRUSTED_PROXIES` lists the proxies (addresses or CIDR blocks)
/// whose `X-Forwarded-For` is believed. The client is the rightmost address
/// in that header that is not itself a trusted proxy; from any other peer the
/// header is ignored (anyone can write it). Used for audit records and the
/// per-source limit.
package struct TrustedProxies: Sendable {
    struct Block: Sendable, Hashable {
        var network: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == network.count else { return false }
            var remaining = prefix
            for (a, b) in zip(address, network) {
                if remaining <= 0 { return true }
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let blocks: [Block]

    package static let none = TrustedProxies(blocks: [])

    package static func load(_ settings: inout Settings) -> TrustedProxies {
        var blocks: [Block] = []
        for entry in settings.list("SCEPTER_TRUSTED_PROXIES") {
            guard let block = parse(entry) else {
                settings.problem("SCEPTER_TRUSTED_PROXIES", "\"\(entry)\" is not an IP address or CIDR block (e.g. 10.0.0.0/8, fd00::/8; no port, no host name, a prefix of at most 32 or 128)")
                continue
            }
            blocks.append(block)
        }
        return TrustedProxies(blocks: blocks)
    }

    static func parse(_ entry: String) -> Block? {
        let parts = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = IPAddressBytes.parse(parts[0]) else { return nil }
        let written = address.written.count * 8
        guard let prefix = parts.count == 2 ? Int(parts[1]) : written, (0...written).contains(prefix) else { return nil }
        // An IPv4-mapped block (::ffff:10.0.0.0/104) is the IPv4 block it maps.
        if address.written.count != address.bytes.count {
            guard prefix >= 96 else { return nil }
            return Block(network: address.bytes, prefix: prefix - 96)
        }
        return Block(network: address.bytes, prefix: prefix)
    }

    func isTrusted(_ address: [UInt8]) -> Bool {
        blocks.contains { $0.contains(address) }
    }

    /// The client's address: `peer`, unless `peer` is a trusted proxy and
    /// `forwardedFor` (every `X-Forwarded-For` value, in order) names one.
    /// Addresses come back in their plain form: without the port some proxies
    /// append (Azure Application Gateway writes `203.0.113.9:51324`), and an
    /// IPv4 client of a dual-stack listener (`::ffff:203.0.113.9`) as IPv4,
    /// so one client is one key of the per-source limit however it arrives.
    package func client(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer, let peerAddress = IPAddressBytes.parse(peer) else { return peer }
        guard !blocks.isEmpty, isTrusted(peerAddress.bytes) else { return peerAddress.text }
        var leftmost = peerAddress
        for hop in forwardedFor.flatMap({ $0.split(separator: ",") }).reversed() {
            // An empty element is no hop (RFC 9110 §5.6.1); garbage: believe nothing further left.
            if hop.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let address = IPAddressBytes.parse(hop: hop) else { return peerAddress.text }
            if !isTrusted(address.bytes) { return address.text }
            leftmost = address
        }
        return leftmost.text
    }
}

/// Textual IPv4 and IPv6 addresses as bytes (inet_pton), IPv4-mapped IPv6
/// addresses as the IPv4 address they carry.
enum IPAddressBytes {
    struct Address: Equatable {
        /// 4 or 16 bytes; an IPv4-mapped address gives its 4 IPv4 bytes.
        var bytes: [UInt8]
        /// The bytes as written (16 for a mapped address).
        var written: [UInt8]
        /// `bytes` as text (inet_ntop).
        var text: String
    }

    /// Longer text is no address (the longest IPv6 form has 45 characters),
    /// and inet_pton never sees it.
    static let maximumLength = 64

    static func parse(_ text: some StringProtocol) -> Address? {
        guard text.utf8.count <= maximumLength, !text.utf8.contains(0) else { return nil }
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return Address(bytes: bytes, written: bytes, text: format(bytes))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let written = withUnsafeBytes(of: &v6) { Array($0) }
        let bytes = written.starts(with: mappedPrefix) ? Array(written[12...]) : written
        return Address(bytes: bytes, written: written, text: format(bytes))
    }

    /// One `X-Forwarded-For` hop: an address, `IPv4:port`, `[IPv6]` or
    /// `[IPv6]:port`, with spaces around it.
    static func parse(hop: Substring) -> Address? {
        let hop = hop.trimmingCharacters(in: .whitespaces)
        if hop.hasPrefix("[") {
            guard let close = hop.firstIndex(of: "]") else { return nil }
            let rest = hop[hop.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && isPort(rest.dropFirst())) else { return nil }
            guard let address = parse(hop[hop.index(after: hop.startIndex)..<close]), address.written.count == 16 else { return nil }
            return address
        }
        let colons = hop.utf8.count { $0 == UInt8(ascii: ":") }
        if colons == 1, let colon = hop.firstIndex(of: ":") {
            guard isPort(hop[hop.index(after: colon)...]), let address = parse(hop[..<colon]), address.written.count == 4 else { return nil }
            return address
        }
        return parse(hop)
    }

    private static let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]

    private static func isPort(_ text: Substring) -> Bool {
        (1...5).contains(text.utf8.count) && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            && Int(text).map { $0 <= 65_535 } == true
    }

    private static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
