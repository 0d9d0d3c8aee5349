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

        public init(name: String, ra: RAIdentity, challengePassword: String?) {
            self.name = name.lowercased()
            self.ra = ra
            self.challengePassword = challengePassword
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
