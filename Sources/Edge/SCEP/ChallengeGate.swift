import ScepterProtocol

/// The static challenge password gate: a constant-time comparison against the
/// profile's password.
enum ChallengeGate {
    static func check(_ presented: String?, profile: EdgeConfiguration.Profile) -> Refusal? {
        guard let expected = profile.challengePassword, !expected.isEmpty else {
            return Refusal(.challengeInvalid, "profile \(profile.name) has no static challenge password configured")
        }
        guard let presented, !presented.isEmpty else {
            return Refusal(.challengeInvalid, "the CSR carries no challengePassword")
        }
        guard ConstantTime.equals(presented, expected) else {
            return Refusal(.challengeInvalid, "challengePassword does not match profile \(profile.name)'s static password")
        }
        return nil
    }
}
