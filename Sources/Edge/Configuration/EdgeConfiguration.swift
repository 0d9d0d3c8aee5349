import ScepterProtocol

/// Everything an edge needs, as plain values, loaded and validated in one place.
public struct EdgeConfiguration: Sendable {
    /// One SCEP endpoint: `/scep/{name}`.
    public struct Profile: Sendable {
        /// Lowercase profile name as it appears in the URL.
        public var name: String
        public var ra: RAIdentity
        /// The static challenge password; nil when the profile has none.
        public var challengePassword: String?
        /// Signed-challenge validation; nil unless `INTUNE_MODE=signed-challenge`.
        public var intune: Intune?
        /// Opaque challenges for Intune's validation service; nil unless `INTUNE_MODE=intune-api`.
        public var intuneAPI: IntuneAPI?

        public init(name: String, ra: RAIdentity, challengePassword: String?, intune: Intune? = nil, intuneAPI: IntuneAPI? = nil) {
            self.name = name.lowercased()
            self.ra = ra
            self.challengePassword = challengePassword
            self.intune = intune
            self.intuneAPI = intuneAPI
        }
    }

    /// A profile's `INTUNE_MODE=intune-api` settings at the edge (SPEC §5.2):
    /// the challenge is opaque here; the control plane asks Intune.
    public struct IntuneAPI: Sendable {
        /// How long a used challenge is remembered as used (`INTUNE_CHALLENGE_VALIDITY`
        /// plus `INTUNE_CLOCK_SKEW`): a second transaction carrying it is a replay.
        public var replayWindow: Duration

        public init(replayWindow: Duration = .seconds(3660)) {
            self.replayWindow = replayWindow
        }

        /// Intune's challenges are a few hundred to a few thousand base64
        /// characters; anything longer is refused before it costs a call.
        public static let maxChallengeLength = 16 * 1024
    }

    /// A profile's `INTUNE_MODE=signed-challenge` settings (SPEC §5.1, §9).
    public struct Intune: Sendable {
        public var anchors: TrustAnchorStore
        public var policy: IntuneValidator.Policy
        /// Enrollments per device per 24 h (`INTUNE_RATE_LIMIT`, default 3); 0 disables.
        public var rateLimit: Int
        public var compliance: ComplianceHook?

        public init(anchors: TrustAnchorStore, policy: IntuneValidator.Policy, rateLimit: Int = 3, compliance: ComplianceHook? = nil) {
            self.anchors = anchors
            self.policy = policy
            self.rateLimit = rateLimit
            self.compliance = compliance
        }
    }

    public var profiles: [String: Profile]
    /// Identifies this edge in audit records and heartbeats.
    public var edgeID: String

    public init(profiles: [Profile], edgeID: String) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.edgeID = edgeID
    }

    /// The profile `/scep` (and NDES's path) serves.
    public static let defaultProfileName = "default"
}
