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
                settings.problem("SCEPTER_TRUSTED_PROXIES", "\"\(entry)\" is not an IP address or CIDR block (e.g. 10.0.0.0/8, fd00::/8)")
                continue
            }
            blocks.append(block)
        }
        return TrustedProxies(blocks: blocks)
    }

    static func parse(_ entry: String) -> Block? {
        let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = IPAddressBytes.parse(parts[0]) else { return nil }
        let maximum = address.count * 8
        guard let prefix = parts.count == 2 ? Int(parts[1]) : maximum, (0...maximum).contains(prefix) else { return nil }
        return Block(network: address, prefix: prefix)
    }

    func isTrusted(_ address: String) -> Bool {
        guard let bytes = IPAddressBytes.parse(address) else { return false }
        return blocks.contains { $0.contains(bytes) }
    }

    /// The client's address: `peer`, unless `peer` is a trusted proxy and
    /// `forwardedFor` (every `X-Forwarded-For` value, in order) names one.
    package func client(peer: String?, forwardedFor: [String]) -> String? {
        guard let peer, !blocks.isEmpty, isTrusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard IPAddressBytes.parse(hop) != nil else { return peer }  // garbage: believe nothing further left
            if !isTrusted(hop) { return hop }
        }
        return hops.first ?? peer
    }
}

/// Textual IPv4 and IPv6 addresses as bytes (inet_pton).
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
