import Foundation

/// A profile's effective settings on one edge, as its heartbeat publishes
/// them for the control plane's `GET /api/v1/profiles` (SPEC §8: the
/// effective configuration, secrets redacted). Secrets appear only as `set`.
public struct EdgeProfileSettings: Sendable, Codable, Hashable {
    /// `INTUNE_MODE=signed-challenge`: the gates' settings (SPEC §5.1).
    public struct SignedChallenge: Sendable, Codable, Hashable {
        public var audience: String?
        public var challengeValiditySeconds: Int64
        public var clockSkewSeconds: Int64
        public var rateLimit: Int
        public var allowedSANTypes: [String]
        /// The webhook's origin, `scheme://host[:port]`: its path, query or user info may hold a secret.
        public var complianceURL: String?
        /// The first 16 hex digits of the SHA-256 of the whole URL: edges with the same webhook show the same.
        public var complianceURLDigest: String?
        /// `set` when webhook requests are signed.
        public var complianceSecret: String?
        public var complianceTimeoutSeconds: Int64?

        public init(
            audience: String?, challengeValiditySeconds: Int64, clockSkewSeconds: Int64, rateLimit: Int, allowedSANTypes: [String],
            compliance: String? = nil, complianceSecret: String? = nil, complianceTimeoutSeconds: Int64? = nil
        ) {
            self.audience = audience
            self.challengeValiditySeconds = challengeValiditySeconds
            self.clockSkewSeconds = clockSkewSeconds
            self.rateLimit = rateLimit
            self.allowedSANTypes = allowedSANTypes
            self.complianceURL = compliance.map(EdgeProfileSettings.origin(of:))
            self.complianceURLDigest = compliance.map { String(SHA256Hex.of(Array($0.utf8)).prefix(16)) }
            self.complianceSecret = complianceSecret
            self.complianceTimeoutSeconds = complianceTimeoutSeconds
        }
    }

    /// The RA certificate devices encrypt to: `RA_ENCRYPTION_CERT_PATH` when
    /// the RA is split, else `RA_CERT_PATH`.
    public var ra: CertificateSummary
    /// The RA certificate that signs CertReps (`RA_CERT_PATH`) when the RA is
    /// split; nil when `ra` does both (and from edges before 0.3.0).
    public var raSigning: CertificateSummary?
    /// `set` when the profile has a static challenge password.
    public var challengePassword: String?
    public var intuneMode: IntuneMode
    public var signedChallenge: SignedChallenge?
    /// `intune-api`: how long a used challenge is remembered as used.
    public var replayWindowSeconds: Int64?
    public var renewalLimit: Int

    public init(
        ra: CertificateSummary, raSigning: CertificateSummary? = nil, challengePassword: String?, intuneMode: IntuneMode,
        signedChallenge: SignedChallenge? = nil, replayWindowSeconds: Int64? = nil, renewalLimit: Int
    ) {
        self.ra = ra
        self.raSigning = raSigning
        self.challengePassword = challengePassword
        self.intuneMode = intuneMode
        self.signedChallenge = signedChallenge
        self.replayWindowSeconds = replayWindowSeconds
        self.renewalLimit = renewalLimit
    }

    /// When the first of the RA's certificates expires.
    public var raNotAfter: Date { min(ra.notAfter, raSigning?.notAfter ?? ra.notAfter) }

    /// `url`'s `scheme://host[:port]`: what may be shown of a webhook's address.
    public static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty else {
            return "(not a URL)"
        }
        var origin = URLComponents()
        (origin.scheme, origin.host, origin.port) = (scheme, host, components.port)
        return origin.string ?? "(not a URL)"
    }
}
