import Foundation
import ScepterProtocol

extension BearerTokens {
    /// `SCEPTER_ADMIN_TOKENS` and `SCEPTER_VIEWER_TOKENS` (comma-separated,
    /// each `token` or `name:token`, every token at least 32 bytes; `_FILE`
    /// variants must be 0600), plus the tokens a role adds itself.
    package static func load(_ settings: inout Settings, admin extraAdmin: [String] = [], edge: [String] = []) -> BearerTokens {
        BearerTokens(
            admin: extraAdmin + settings.bearerTokenList("SCEPTER_ADMIN_TOKENS"), viewer: settings.bearerTokenList("SCEPTER_VIEWER_TOKENS"),
            edge: edge)
    }

    /// The edges' tokens: `SCEPTER_EDGE_TOKENS` (`edge-id:token`, one per
    /// edge or group of edges, so one can be cut off and tokens rotated by
    /// listing old and new together) and/or the shared `SCEPTER_EDGE_TOKEN`
    /// (named `edge`). At least one is required.
    package static func edgeTokens(_ settings: inout Settings) -> [String] {
        let entries = settings.bearerTokenEntries("SCEPTER_EDGE_TOKENS")
        var tokens = entries.map(\.entry)
        var seen: Set<String> = []
        for (position, entry) in entries {
            guard let name = split(entry).name else {
                settings.problem("SCEPTER_EDGE_TOKENS", "entry \(position) has no edge id; every entry is edge-id:token")
                continue
            }
            if !seen.insert(name).inserted {
                settings.problem("SCEPTER_EDGE_TOKENS", "edge id \(name) is listed twice; give each token its own id (e.g. \(name)-next while rotating)")
            }
        }
        if let shared = settings.bearerToken("SCEPTER_EDGE_TOKEN") { tokens.append("edge:" + shared) }
        if tokens.isEmpty, settings.problems.allSatisfy({ !$0.variable.hasPrefix("SCEPTER_EDGE_TOKEN") }) {
            settings.problem("SCEPTER_EDGE_TOKEN", "is required, or SCEPTER_EDGE_TOKENS (the secrets edges present on /internal)")
        }
        return tokens
    }
}
