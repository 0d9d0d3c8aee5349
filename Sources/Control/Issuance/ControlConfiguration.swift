/// The control plane's issuers and profiles, as plain values.
public struct ControlConfiguration: Sendable {
    /// A SCEP profile as the control plane sees it: which issuer, which policy.
    public struct Profile: Sendable {
        public var name: String
        public var issuer: LocalCA
        public var policy: CertificateProfile
        /// The CA that GetNextCACert announces during a rollover.
        public var nextCA: [UInt8]?

        public init(name: String, issuer: LocalCA, policy: CertificateProfile, nextCA: [UInt8]? = nil) {
            self.name = name.lowercased()
            self.issuer = issuer
            self.policy = policy
            self.nextCA = nextCA
        }
    }

    public var profiles: [String: Profile]

    public init(profiles: [Profile]) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }
}
