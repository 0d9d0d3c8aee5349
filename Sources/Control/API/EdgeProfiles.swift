import Foundation
import ScepterProtocol

/// `SCEPTER_EDGE_PROFILES`: which profiles each edge may ask the control
/// plane for, by the id its token is listed under in `SCEPTER_EDGE_TOKENS`
/// (`edge` for the shared `SCEPTER_EDGE_TOKEN`), e.g.
/// `edge-dmz:corp|wifi,edge-lab:lab`. Unset: every edge serves every
/// profile. Set: an edge it does not list serves none, so a stolen token of
/// the lab's edges cannot enroll into the corporate profile.
package struct EdgeProfiles: Sendable {
    /// nil: no restriction.
    private let allowed: [String: Set<String>]?

    package init(_ allowed: [String: Set<String>]?) {
        self.allowed = allowed
    }

    package static func load(_ settings: inout Settings, edges: Set<String>, profiles: Set<String>) -> EdgeProfiles {
        let variable = "SCEPTER_EDGE_PROFILES"
        let entries = settings.list(variable)
        guard !entries.isEmpty else { return EdgeProfiles(nil) }
        var allowed: [String: Set<String>] = [:]
        for entry in entries {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                settings.problem(variable, "\"\(entry)\" is not edge-id:profile|profile")
                continue
            }
            let edge = parts[0]
            let named = Set(parts[1].split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
            if !edges.contains(edge) {
                settings.problem(variable, "edge \(edge) has no token (ids: \(edges.sorted().joined(separator: ", ")); see SCEPTER_EDGE_TOKENS)")
            }
            for profile in named.subtracting(profiles).sorted() {
                settings.problem(variable, "edge \(edge): profile \(profile) is not in SCEPTER_PROFILES")
            }
            allowed[edge, default: []].formUnion(named)
        }
        return EdgeProfiles(allowed)
    }

    /// Whether any edge is limited to some profiles (`SCEPTER_EDGE_PROFILES` set).
    package var isRestricted: Bool { allowed != nil }

    package func allows(edge: String, profile: String) -> Bool {
        guard let allowed else { return true }
        return allowed[edge]?.contains(profile.lowercased()) ?? false
    }
}
