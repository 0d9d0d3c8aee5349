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
        /// The webhook's URL without user info, query or fragment (they may hold a secret).
        public var complianceURL: String?
        /// `set` when webhook requests are signed.
        public var complianceSecret: String?
        public var complianceTimeoutSeconds: Int64?

        public init(
            audience: String?, challengeValiditySeconds: Int64, clockSkewSeconds: Int64, rateLimit: Int, allowedSANTypes: [String],
            complianceURL: String? = nil, complianceSecret: String? = nil, complianceTimeoutSeconds: Int64? = nil
        ) {
            self.audience = audience
            self.challengeValiditySeconds = challengeValiditySeconds
            self.clockSkewSeconds = clockSkewSeconds
            self.rateLimit = rateLimit
            self.allowedSANTypes = allowedSANTypes
            self.complianceURL = complianceURL
            self.complianceSecret = complianceSecret
            self.complianceTimeoutSeconds = complianceTimeoutSeconds
        }
    }

    /// The RA certificate devices encrypt to (`RA_CERT_PATH`).
    public var ra: CertificateSummary
    /// `set` when the profile has a static challenge password.
    public var challengePassword: String?
    /// `off`, `signed-challenge` or `intune-api`.
    public var intuneMode: String
    public var signedChallenge: SignedChallenge?
    /// `intune-api`: how long a used challenge is remembered as used.
    public var replayWindowSeconds: Int64?
    public var renewalLimit: Int

    public init(
        ra: CertificateSummary, challengePassword: String?, intuneMode: String, signedChallenge: SignedChallenge? = nil, replayWindowSeconds: Int64? = nil,
        renewalLimit: Int
    ) {
        self.ra = ra
        self.challengePassword = challengePassword
        self.intuneMode = intuneMode
        self.signedChallenge = signedChallenge
        self.replayWindowSeconds = replayWindowSeconds
        self.renewalLimit = renewalLimit
    }

    /// `url` without user info, query or fragment: what may be shown of a webhook's address.
    public static func redacted(url: String) -> String {
        guard var components = URLComponents(string: url), components.scheme != nil, components.host?.isEmpty == false else {
            return "(not a URL)"
        }
        (components.user, components.password, components.query, components.fragment) = (nil, nil, nil, nil)
        return components.string ?? "(not a URL)"
    }
}
