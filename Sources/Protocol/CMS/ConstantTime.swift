import Crypto

/// Secret comparison that takes the same time wherever the inputs differ.
public enum ConstantTime {
    /// Compares the SHA-256 digests of both strings, so neither the position of
    /// the first difference nor the secret's length shows in the timing.
    public static func equals(_ lhs: String, _ rhs: String) -> Bool {
        let left = SHA256.hash(data: Array(lhs.utf8))
        let right = SHA256.hash(data: Array(rhs.utf8))
        var difference: UInt8 = 0
        for (a, b) in zip(left, right) { difference |= a ^ b }
        return difference == 0
    }
}
