import Foundation

/// Bearer tokens and the role each grants (SPEC §8): `admin`, `viewer`, and
/// `edge` for the internal API. Every presented token is compared with every
/// configured one in constant time, so neither which token matched nor how
/// much of it did shows in the timing.
public struct BearerTokens: Sendable {
    public enum Role: String, Sendable, Hashable {
        case viewer, admin, edge
    }

    /// Who presented a token: its name (for audit rows) and what it may do.
    public struct Principal: Sendable, Hashable {
        public var name: String
        public var roles: Set<Role>
    }

    private struct Entry {
        var name: String
        var token: String
        var role: Role
    }

    private let entries: [Entry]

    /// Tokens as configured: `name:token` names the holder in audit rows; a
    /// bare token is named after its role and position (`admin-1`).
    public init(admin: [String] = [], viewer: [String] = [], edge: [String] = []) {
        func parse(_ values: [String], _ role: Role) -> [Entry] {
            values.enumerated().map { index, value in
                let (name, token) = Self.split(value)
                return Entry(name: name ?? "\(role.rawValue)-\(index + 1)", token: token, role: role)
            }
        }
        entries = parse(admin, .admin) + parse(viewer, .viewer) + parse(edge, .edge)
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// A configured entry as (holder name, token): `name:token` splits at the
    /// first colon; a bare token (or one with an empty side) has no name.
    public static func split(_ entry: String) -> (name: String?, token: String) {
        if let colon = entry.firstIndex(of: ":"), colon != entry.startIndex, entry.index(after: colon) != entry.endIndex {
            return (String(entry[..<colon]), String(entry[entry.index(after: colon)...]))
        }
        return (nil, entry)
    }

    /// Who an `Authorization` header's bearer token belongs to; nil when the
    /// header is absent, malformed or names no configured token. An admin
    /// token also grants viewer.
    public func principal(authorization: String?) -> Principal? {
        guard let authorization, authorization.utf8.count <= 4096 else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let presented = parts[1].trimmingCharacters(in: .whitespaces)
        var matched: Principal?
        for entry in entries where ConstantTime.equals(entry.token, presented) {
            var principal = matched ?? Principal(name: entry.name, roles: [])
            principal.roles.insert(entry.role)
            if entry.role == .admin { principal.roles.insert(.viewer) }
            matched = principal
        }
        return matched
    }

    /// The roles an `Authorization` header grants; empty without a valid token.
    public func roles(authorization: String?) -> Set<Role> {
        principal(authorization: authorization)?.roles ?? []
    }
}
