import Foundation
import ScepterProtocol

extension EdgeConfiguration {
    /// What embedded mode supplies to profiles that leave settings unset.
    package struct Fallbacks: Sendable {
        package var ra: RAIdentity?

        package init(ra: RAIdentity?) {
            self.ra = ra
        }
    }

    /// Reads the edge's profiles from `SCEPTER_PROFILES` and the
    /// `SCEPTER_PROFILE_<NAME>_*` family (SPEC §9). Problems are collected in
    /// `settings`, each naming its variable.
    package static func loadProfiles(_ settings: inout Settings, fallbacks: Fallbacks? = nil, now: Date = Date()) -> [Profile] {
        var profiles: [Profile] = []
        for rawName in settings.list("SCEPTER_PROFILES") {
            let name = rawName.lowercased()
            guard Settings.isValidName(name) else {
                settings.problem("SCEPTER_PROFILES", "\"\(rawName)\" is not a valid profile name (letters, digits and dashes)")
                continue
            }
            if let profile = loadProfile(name, &settings, fallbacks: fallbacks, now: now) {
                profiles.append(profile)
            }
        }
        return profiles
    }

    private static func loadProfile(_ name: String, _ settings: inout Settings, fallbacks: Fallbacks?, now: Date) -> Profile? {
        let prefix = "SCEPTER_PROFILE_\(Settings.variableName(name))_"
        let ra = loadRA(prefix: prefix, &settings, fallback: fallbacks?.ra, now: now)
        let challenge = settings.secret(prefix + "CHALLENGE_PASSWORD")

        var intune: Intune?
        var intuneAPI: IntuneAPI?
        switch settings.intuneMode(prefix + "INTUNE_MODE") {
        case .off:
            for variable in ["INTUNE_CONNECTOR_CERT_PATH", "INTUNE_AUDIENCE", "INTUNE_COMPLIANCE_URL", "INTUNE_COMPLIANCE_SECRET"]
            where settings.string(prefix + variable) != nil {
                settings.problem(prefix + variable, "is set but \(prefix)INTUNE_MODE is off; set INTUNE_MODE=signed-challenge or remove it")
            }
            if challenge == nil {
                settings.problem(
                    prefix + "CHALLENGE_PASSWORD",
                    "profile \(name) has neither a static challenge password nor an INTUNE_MODE; every enrollment would be refused")
            }
        case .signedChallenge:
            intune = loadIntune(prefix: prefix, &settings, now: now)
        case .intuneAPI:
            for variable in [
                "INTUNE_CONNECTOR_CERT_PATH", "INTUNE_AUDIENCE", "INTUNE_COMPLIANCE_URL", "INTUNE_COMPLIANCE_SECRET", "INTUNE_RATE_LIMIT",
            ]
            where settings.string(prefix + variable) != nil {
                settings.problem(
                    prefix + variable,
                    "applies to INTUNE_MODE=signed-challenge only; with intune-api, Intune itself judges the challenge: remove it")
            }
            let validity = settings.duration(prefix + "INTUNE_CHALLENGE_VALIDITY", default: .seconds(3600))
            let skew = settings.duration(prefix + "INTUNE_CLOCK_SKEW", default: .seconds(60))
            intuneAPI = IntuneAPI(replayWindow: validity + skew)
        case nil:
            break  // The problem names the value.
        }
        guard let ra else { return nil }
        let renewalLimit = settings.integer(prefix + "RENEWAL_LIMIT", default: 3)
        return Profile(name: name, ra: ra, challengePassword: challenge, intune: intune, intuneAPI: intuneAPI, renewalLimit: renewalLimit)
    }

    private static func loadIntune(prefix: String, _ settings: inout Settings, now: Date) -> Intune? {
        var allowed = IntuneValidator.SANType.boundByClaims
        let listed = settings.list(prefix + "ALLOWED_SAN_TYPES")
        if !listed.isEmpty {
            allowed = []
            for name in listed {
                if let type = IntuneValidator.SANType(rawValue: name.lowercased()) {
                    allowed.insert(type)
                } else {
                    settings.problem(
                        prefix + "ALLOWED_SAN_TYPES",
                        "\"\(name)\" is not a SAN type (\(IntuneValidator.SANType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
        }
        let policy = IntuneValidator.Policy(
            audience: settings.string(prefix + "INTUNE_AUDIENCE"),
            challengeValidityCap: settings.duration(prefix + "INTUNE_CHALLENGE_VALIDITY", default: .seconds(3600)),
            clockSkew: settings.duration(prefix + "INTUNE_CLOCK_SKEW", default: .seconds(60)), allowedSANTypes: allowed)
        let rateLimit = settings.integer(prefix + "INTUNE_RATE_LIMIT", default: 3)
        let compliance = loadCompliance(prefix: prefix, &settings)
        guard let path = settings.required(prefix + "INTUNE_CONNECTOR_CERT_PATH", "the Intune Connector trust anchor PEM bundle") else {
            return nil
        }
        do {
            let anchors = try TrustAnchorStore(path: path, now: now)
            return Intune(anchors: anchors, policy: policy, rateLimit: rateLimit, compliance: compliance)
        } catch {
            settings.problem(prefix + "INTUNE_CONNECTOR_CERT_PATH", error.message)
            return nil
        }
    }
}
