/// How a profile's Intune challenges are judged: `SCEPTER_PROFILE_<NAME>_INTUNE_MODE`
/// (SPEC §5), read by the edge and the control plane alike.
public enum IntuneMode: String, CaseIterable, Sendable, Codable {
    /// Static challenge passwords only.
    case off
    /// The challenge is a JWS the edge verifies against the Connector's certificate (SPEC §5.1).
    case signedChallenge = "signed-challenge"
    /// The challenge is opaque; the control plane asks Intune (SPEC §5.2).
    case intuneAPI = "intune-api"
}
