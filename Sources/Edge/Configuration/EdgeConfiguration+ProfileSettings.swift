import Foundation
import SwiftASN1
import X509
import ScepterProtocol

extension EdgeConfiguration {
    /// Each profile's effective settings, as the heartbeat publishes them.
    package var profileSettings: [String: EdgeProfileSettings] { profiles.mapValues(\.settings) }
}

extension EdgeConfiguration.Profile {
    /// This profile's effective settings, secrets only as `set` (SPEC §8).
    package var settings: EdgeProfileSettings {
        func summary(_ der: [UInt8]) -> CertificateSummary {
            let certificate = try? Certificate(derEncoded: der)
            return CertificateSummary(
                subject: certificate?.subject.description ?? "(unreadable)", fingerprint: SHA256Hex.of(der),
                notAfter: certificate?.notValidAfter ?? .distantPast)
        }
        let mode: IntuneMode = intune != nil ? .signedChallenge : intuneAPI != nil ? .intuneAPI : .off
        var settings = EdgeProfileSettings(
            ra: summary(ra.encryption.certificate),
            raSigning: ra.signing.certificate == ra.encryption.certificate ? nil : summary(ra.signing.certificate),
            challengePassword: challengePassword == nil ? nil : "set", intuneMode: mode,
            replayWindowSeconds: intuneAPI?.replayWindow.components.seconds, renewalLimit: renewalLimit)
        if let intune {
            let policy = intune.policy
            settings.signedChallenge = .init(
                audience: policy.audience, challengeValiditySeconds: policy.challengeValidityCap.components.seconds,
                clockSkewSeconds: policy.clockSkew.components.seconds, rateLimit: intune.rateLimit,
                allowedSANTypes: IntuneValidator.SANType.allCases.filter(policy.allowedSANTypes.contains).map(\.rawValue),
                compliance: intune.compliance?.url,
                complianceSecret: intune.compliance?.signature == nil ? nil : "set",
                complianceTimeoutSeconds: intune.compliance?.timeout.components.seconds)
        }
        return settings
    }
}
