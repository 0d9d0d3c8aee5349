import ScepterProtocol

extension EdgeConfiguration {
    /// The characters a PrintableString may hold (X.680 §41.4).
    static let printableStringCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")

    /// One warning per profile whose static challenge some clients cannot
    /// send: certmonger, and any client that writes the challengePassword as
    /// a PrintableString, silently leaves out one holding another character,
    /// and the request is then refused `challenge_invalid`. Which characters
    /// is not said: they are part of a secret.
    package var challengeCharacterWarnings: [String] {
        profiles.values.sorted { $0.name < $1.name }.compactMap { profile in
            guard let problem = profile.challengeCharacterProblem else { return nil }
            return problem + ", and their requests are refused challenge_invalid (\"the CSR carries no challengePassword\")"
        }
    }
}

extension EdgeConfiguration.Profile {
    /// Why some clients cannot send this profile's static challenge, naming
    /// its variable; nil when every client can.
    var challengeCharacterProblem: String? {
        guard let challengePassword, !challengePassword.allSatisfy(EdgeConfiguration.printableStringCharacters.contains) else { return nil }
        return "SCEPTER_PROFILE_\(Settings.variableName(name))_CHALLENGE_PASSWORD holds characters other than letters, digits, "
            + "space and '()+,-./:=?; certmonger and other clients that send the challenge as a PrintableString leave it out"
    }
}
