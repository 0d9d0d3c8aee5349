#if canImport(Glibc)
import Glibc
#endif

/// Whether a URL's host stays on this machine, where plain HTTP reveals
/// nothing to the network: `localhost`, 127.0.0.0/8 or ::1.
package enum LoopbackHost {
    /// `host` as a URL carries it; IPv6 may keep its brackets (`[::1]`).
    /// Names other than `localhost` are not resolved: a DNS answer can change.
    package static func contains(_ host: String) -> Bool {
        var bare = host.lowercased()
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if bare == "localhost" { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, bare, &ipv4) == 1 {
            return UInt32(bigEndian: ipv4.s_addr) >> 24 == 127
        }
        var ipv6 = in6_addr()
        if inet_pton(AF_INET6, bare, &ipv6) == 1 {
            return withUnsafeBytes(of: &ipv6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }
}
