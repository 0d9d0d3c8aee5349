import Foundation

/// Bearer tokens and the role each grants (SPEC §8): `admin`, `viewer`, and
/// `edge` for the internal API. Every presented token is compared with every
/// configured one in constant time, so neither which token matched nor how
/// much of it did shows in the timing.
public struct BearerTokens: Sendable {
    public enum Role: String, Sendable, Hashable {
        case viewer, admin, edge
    }

    private let tokens: [(token: String, role: Role)]

    public init(admin: [String] = [], viewer: [String] = [], edge: [String] = []) {
        tokens = admin.map { ($0, .admin) } + viewer.map { ($0, .viewer) } + edge.map { ($0, .edge) }
    }

    public var isEmpty: Bool { tokens.isEmpty }

    /// The roles an `Authorization` header's bearer token grants; empty when
    /// the header is absent, malformed or names no configured token. An admin
    /// token also grants viewer.
    public func roles(authorization: String?) -> Set<Role> {
        guard let authorization, authorization.utf8.count <= 4096 else { return [] }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return [] }
        let presented = parts[1].trimmingCharacters(in: .whitespaces)
        var granted: Set<Role> = []
        for (token, role) in tokens where ConstantTime.equals(token, presented) {
            granted.insert(role)
            if role == .admin { granted.insert(.viewer) }
        }
        return granted
    }
}
