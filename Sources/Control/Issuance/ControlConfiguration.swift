import AsyncHTTPClient
import Logging

/// The control plane's issuers and profiles, as plain values.
public struct ControlConfiguration: Sendable {
    /// A SCEP profile as the control plane sees it: which issuer, which policy.
    public struct Profile: Sendable {
        public var name: String
        public var issuer: LocalCA
        public var policy: CertificateProfile
        /// The CA that GetNextCACert announces during a rollover.
        public var nextCA: [UInt8]?
        /// How to reach Intune when `INTUNE_MODE=intune-api`; nil otherwise.
        public var intuneAPI: IntuneAPISettings?

        public init(name: String, issuer: LocalCA, policy: CertificateProfile, nextCA: [UInt8]? = nil, intuneAPI: IntuneAPISettings? = nil) {
            self.name = name.lowercased()
            self.issuer = issuer
            self.policy = policy
            self.nextCA = nextCA
            self.intuneAPI = intuneAPI
        }
    }

    public var profiles: [String: Profile]
    public var intune: IntuneOptions

    public init(profiles: [Profile], intune: IntuneOptions = IntuneOptions()) {
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.intune = intune
    }

    /// One Intune client per app registration, keyed by the profiles that use it.
    public func intuneClients(http: HTTPClient = .shared, metrics: ControlMetrics?, logger: Logger) -> [String: IntuneClient] {
        var byCredential: [String: IntuneClient] = [:]
        var clients: [String: IntuneClient] = [:]
        for profile in profiles.values.sorted(by: { $0.name < $1.name }) {
            guard let settings = profile.intuneAPI else { continue }
            let client =
                byCredential[settings.clientKey]
                ?? IntuneClient(settings: settings, http: MicrosoftHTTP(client: http), options: intune, metrics: metrics, logger: logger)
            byCredential[settings.clientKey] = client
            clients[profile.name] = client
        }
        return clients
    }
}
