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
        /// Signed-challenge validation; nil when `INTUNE_MODE` is off.
        public var intune: Intune?

        public init(name: String, ra: RAIdentity, challengePassword: String?, intune: Intune? = nil) {
            self.name = name.lowercased()
            self.ra = ra
            self.challengePassword = challengePassword
            self.intune = intune
        }
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
