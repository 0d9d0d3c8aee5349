import ScepterProtocol

/// Everything an edge needs, as plain values, loaded and validated in one place.
package struct EdgeConfiguration: Sendable {
    /// One SCEP endpoint: `/scep/{name}`.
    package struct Profile: Sendable {
        /// Lowercase profile name as it appears in the URL.
        package var name: String
        package var ra: RAIdentity
        /// The static challenge password; nil when the profile has none.
        package var challengePassword: String?
        /// Signed-challenge validation; nil unless `INTUNE_MODE=signed-challenge`.
        package var intune: Intune?
        /// Opaque challenges for Intune's validation service; nil unless `INTUNE_MODE=intune-api`.
        package var intuneAPI: IntuneAPI?
        /// RenewalReqs per certificate per 24 h (`RENEWAL_LIMIT`, default 3), counted cluster-wide; 0 disables.
        package var renewalLimit: Int

        package init(
            name: String, ra: RAIdentity, challengePassword: String?, intune: Intune? = nil, intuneAPI: IntuneAPI? = nil, renewalLimit: Int = 3
        ) {
            self.name = name.lowercased()
            self.ra = ra
            self.challengePassword = challengePassword
            self.intune = intune
            self.intuneAPI = intuneAPI
            self.renewalLimit = renewalLimit
        }
    }

    /// A profile's `INTUNE_MODE=intune-api` settings at the edge (SPEC §5.2):
    /// the challenge is opaque here; the control plane asks Intune.
    package struct IntuneAPI: Sendable {
        /// How long a used challenge is remembered as used (`INTUNE_CHALLENGE_VALIDITY`
        /// plus `INTUNE_CLOCK_SKEW`): a second transaction carrying it is a replay.
        package var replayWindow: Duration

        package init(replayWindow: Duration = .seconds(3660)) {
            self.replayWindow = replayWindow
        }
    }

    /// A profile's `INTUNE_MODE=signed-challenge` settings (SPEC §5.1, §9).
    package struct Intune: Sendable {
        package var anchors: TrustAnchorStore
        package var policy: IntuneValidator.Policy
        /// Enrollments per device per 24 h (`INTUNE_RATE_LIMIT`, default 3); 0 disables.
        package var rateLimit: Int
        package var compliance: ComplianceHook?

        package init(anchors: TrustAnchorStore, policy: IntuneValidator.Policy, rateLimit: Int = 3, compliance: ComplianceHook? = nil) {
            self.anchors = anchors
            self.policy = policy
            self.rateLimit = rateLimit
            self.compliance = compliance
        }
    }

    package var profiles: [String: Profile]
    /// Identifies this edge in audit records and heartbeats.
    package var edgeID: String
    /// `SCEPTER_TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    package var trustedProxies: TrustedProxies
    /// `SCEPTER_SOURCE_RATE_LIMIT`: PKIOperations per client address per minute, across edges; 0 disables.
    package var sourceRateLimit: Int

    package init(profiles: [Profile], edgeID: String, trustedProxies: TrustedProxies = .none, sourceRateLimit: Int = 0) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.edgeID = edgeID
        self.trustedProxies = trustedProxies
        self.sourceRateLimit = sourceRateLimit
    }

    /// The settings every SCEP front end shares, beside its profiles.
    package static func loadNetwork(_ settings: inout Settings) -> (trustedProxies: TrustedProxies, sourceRateLimit: Int) {
        (TrustedProxies.load(&settings), settings.integer("SCEPTER_SOURCE_RATE_LIMIT", default: 1200))
    }

    /// The profile `/scep` (and NDES's path) serves.
    package static let defaultProfileName = "default"
}
