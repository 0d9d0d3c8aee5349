import Foundation
import ScepterProtocol

extension BearerTokens {
    /// `SCEPTER_ADMIN_TOKENS` and `SCEPTER_VIEWER_TOKENS` (comma-separated,
    /// each `token` or `name:token`; `_FILE` variants must be 0600), plus
    /// the tokens a role adds itself.
    package static func load(_ settings: inout Settings, admin extraAdmin: [String] = [], edge: [String] = []) -> BearerTokens {
        func list(_ name: String) -> [String] {
            (settings.secret(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return BearerTokens(admin: extraAdmin + list("SCEPTER_ADMIN_TOKENS"), viewer: list("SCEPTER_VIEWER_TOKENS"), edge: edge)
    }
}
