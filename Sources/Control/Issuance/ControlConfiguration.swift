import AsyncHTTPClient
import Logging

/// The control plane's issuers and profiles, as plain values.
package struct ControlConfiguration: Sendable {
    /// A SCEP profile as the control plane sees it: which issuer, which policy.
    package struct Profile: Sendable {
        package var name: String
        package var issuer: LocalCA
        package var policy: CertificateProfile
        /// The CA that GetNextCACert announces during a rollover.
        package var nextCA: [UInt8]?
        /// How to reach Intune when `INTUNE_MODE=intune-api`; nil otherwise.
        package var intuneAPI: IntuneAPISettings?

        package init(name: String, issuer: LocalCA, policy: CertificateProfile, nextCA: [UInt8]? = nil, intuneAPI: IntuneAPISettings? = nil) {
            self.name = name.lowercased()
            self.issuer = issuer
            self.policy = policy
            self.nextCA = nextCA
            self.intuneAPI = intuneAPI
        }
    }

    package var profiles: [String: Profile]
    /// Every configured issuer, by name: the profiles' and those no profile
    /// uses (a CA retired by a rollover), whose CRLs and OCSP are served.
    package var issuers: [String: LocalCA]
    package var intune: IntuneOptions
    /// `SCEPTER_PUBLIC_URL`, no trailing slash: where relying parties reach
    /// this control plane's CRLs; issued certificates name it. nil: they don't.
    package var publicURL: String?
    /// `SCEPTER_OCSP_SIGNER`: delegated (default) or ca.
    package var ocspSigner: OCSPResponder.SignerMode

    /// `issuers`: those no profile uses; the profiles' are added.
    package init(
        profiles: [Profile], issuers: [LocalCA] = [], intune: IntuneOptions = IntuneOptions(), publicURL: String? = nil,
        ocspSigner: OCSPResponder.SignerMode = .delegated
    ) {
        self.ocspSigner = ocspSigner
        self.profiles = Dictionary(profiles.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.issuers = Dictionary((profiles.map(\.issuer) + issuers).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.intune = intune
        self.publicURL = publicURL.map { url in
            var url = url
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }
    }

    /// The CA chain a stored certificate goes out with: the CA that issued it
    /// (also one retired by a rollover), nearest first; the profile's when
    /// that issuer is no longer configured, the best a client can be given.
    package func chain(of record: CertificateRecord, in profile: Profile) -> [[UInt8]] {
        let issuer = issuers[record.issuer] ?? profile.issuer
        return [issuer.certificateDER] + issuer.chain
    }

    /// Where this server publishes an issuer's CRL and answers OCSP for it (PublicationRoutes).
    package static func crlPath(issuer: String) -> String { "/crl/\(issuer).crl" }
    package static func ocspPath(issuer: String) -> String { "/ocsp/\(issuer)" }

    /// The CRL distribution point an issuer's certificates carry.
    package func crlURL(issuer: String) -> String? { publicURL.map { $0 + Self.crlPath(issuer: issuer) } }

    /// The OCSP responder an issuer's certificates name (authorityInfoAccess).
    package func ocspURL(issuer: String) -> String? { publicURL.map { $0 + Self.ocspPath(issuer: issuer) } }

    /// One Intune client per app registration, keyed by the profiles that use it.
    package func intuneClients(http: HTTPClient = MicrosoftHTTP.sharedClient, metrics: ControlMetrics?, logger: Logger) -> [String: IntuneClient] {
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
