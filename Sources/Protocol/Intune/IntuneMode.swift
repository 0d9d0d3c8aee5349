/// How a profile's Intune challenges are judged: `SCEPTER_PROFILE_<NAME>_INTUNE_MODE`
/// (SPEC §5), read by the edge and the control plane alike.
package enum IntuneMode: String, CaseIterable, Sendable {
    /// Static challenge passwords only.
    case off
    /// The challenge is a JWS the edge verifies against the Connector's certificate (SPEC §5.1).
    case signedChallenge = "signed-challenge"
    /// The challenge is opaque; the control plane asks Intune (SPEC §5.2).
    case intuneAPI = "intune-api"
}

extension Settings {
    /// `name` as an Intune mode, case-insensitive; `off` when unset. nil
    /// (and a problem naming the variable) for any other value.
    package mutating func intuneMode(_ name: String) -> IntuneMode? {
        guard let text = string(name) else { return .off }
        if let mode = IntuneMode(rawValue: text.lowercased()) { return mode }
        problem(name, "\"\(text)\" is not one of \(IntuneMode.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }
}
