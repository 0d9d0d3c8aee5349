import Foundation
import ScepterProtocol

/// The challenge gates of a PKCSReq (SPEC §5): a signed Intune challenge
/// through gates 2–9, an opaque one of an `intune-api` profile through the
/// shape and replay gates (Intune judges the rest), anything else as a
/// static password.
struct ChallengeGate {
    /// What passed, for the enrollment job and the audit record.
    struct Passed {
        var gates: [String]
        var claim: IntuneClaim?
        /// nil for a renewal, which carries no challenge.
        var check: ChallengeCheck?
    }

    enum Verdict {
        case passed(Passed)
        /// Refused; the claim is given when it was trustworthy enough to read (past the signature).
        case refused(Refusal, claim: IntuneClaim?)
    }

    let profile: EdgeConfiguration.Profile
    let state: any StateStore
    let now: Date

    /// Throws only when the state store is unreachable.
    func check(_ csr: CertificationRequest, transactionID: String) async throws -> Verdict {
        if let api = profile.intuneAPI {
            return try await checkOpaque(csr, api: api, transactionID: transactionID)
        }
        // Gate 1, shape: only a long, two-dot challenge on an Intune profile is a JWS.
        guard let intune = profile.intune, let challenge = csr.challengePassword, IntuneChallenge.looksSigned(challenge) else {
            if let refusal = Self.staticPassword(csr.challengePassword, profile: profile) {
                return .refused(refusal, claim: nil)
            }
            return .passed(Passed(gates: ["challenge:static"], claim: nil, check: .staticPassword))
        }

        // Gates 2–6: signature, version, time, audience, CSR binding.
        let validator = IntuneValidator(anchors: intune.anchors.anchors, policy: intune.policy)
        let names = csr.subjectAlternativeNames
        let identity = IntuneValidator.CSRIdentity(
            commonName: csr.commonName, dnsNames: names.dnsNames, rfc822Names: names.rfc822Names, upns: names.userPrincipalNames,
            unbound: names.uris.map { (.uri, $0) } + names.ipAddresses.map { (.ip, $0) } + names.others.map { (.other, $0) },
            commonNames: csr.commonNames)
        let claim: IntuneClaim
        switch validator.validate(challenge, csr: identity, now: now) {
        case .success(let validated):
            claim = validated
        case .failure(let refusal):
            return .refused(refusal, claim: Self.claimPastSignature(challenge, refusal: refusal, anchors: intune.anchors.anchors))
        }

        // Gates 7 and 8 in one atomic step: replay, then the device's sliding window.
        // The replay key is global (a challenge is single-use everywhere); the
        // window is per profile, so Wi-Fi and VPN profiles each get their N.
        let admission = Admission(
            replayKey: claim.replayKey(challenge: challenge),
            use: Admission.use(profile: profile.name, transactionID: transactionID, csr: csr.derEncoded),
            replayTTL: intune.policy.challengeValidityCap + intune.policy.clockSkew,
            deviceKey: "\(profile.name)|\(claim.deviceKey.storageKey)", rateLimit: intune.rateLimit, now: now)
        var gates = ["challenge:intune"]
        switch try await state.admit(admission) {
        case .admitted:
            gates.append("replay:first-use")
        case .retransmission:
            // The same transaction again: it gets its original answer from the control plane.
            gates.append("replay:retransmission")
        case .replay:
            return .refused(Refusal(.replay, "challenge nonce already used by another request (another transaction, CSR or profile)"), claim: claim)
        case .rateLimited:
            return .refused(
                Refusal(.rateLimited, "device sub=\(claim.subject) already enrolled \(intune.rateLimit) times in 24 h"), claim: claim)
        }

        // Gate 9: the compliance webhook, when configured.
        if let hook = intune.compliance {
            if let refusal = await hook.check(profile: profile.name, transactionID: transactionID, claim: claim, csr: csr) {
                return .refused(refusal, claim: claim)
            }
            gates.append("compliance")
        }
        return .passed(Passed(gates: gates, claim: claim, check: .signedChallenge))
    }

    /// An `intune-api` profile: the static password when the profile has one
    /// and it matches; anything else is an opaque Intune challenge, bounded
    /// here and single-use cluster-wide, judged by Intune at the control plane.
    private func checkOpaque(_ csr: CertificationRequest, api: EdgeConfiguration.IntuneAPI, transactionID: String) async throws -> Verdict {
        guard let challenge = csr.challengePassword, !challenge.isEmpty else {
            return .refused(Refusal(.challengeInvalid, "the CSR carries no challengePassword"), claim: nil)
        }
        if let expected = profile.challengePassword, !expected.isEmpty, ConstantTime.equals(challenge, expected) {
            return .passed(Passed(gates: ["challenge:static"], claim: nil, check: .staticPassword))
        }
        if let refusal = OpaqueChallenge.shapeRefusal(challenge) {
            return .refused(refusal, claim: nil)
        }
        // The challenge's hash is the replay key; no device is known before
        // Intune answers, so there is no per-device window in this mode.
        let admission = Admission(
            replayKey: OpaqueChallenge.replayKey(challenge),
            use: Admission.use(profile: profile.name, transactionID: transactionID, csr: csr.derEncoded), replayTTL: api.replayWindow,
            deviceKey: nil, rateLimit: 0, now: now)
        var gates = ["challenge:intune-api"]
        switch try await state.admit(admission) {
        case .admitted, .rateLimited:
            gates.append("replay:first-use")
        case .retransmission:
            gates.append("replay:retransmission")
        case .replay:
            return .refused(Refusal(.replay, "Intune challenge already used by another request (another transaction, CSR or profile)"), claim: nil)
        }
        return .passed(Passed(gates: gates, claim: nil, check: .intuneAPI))
    }

    /// The static password, compared in constant time.
    static func staticPassword(_ presented: String?, profile: EdgeConfiguration.Profile) -> Refusal? {
        guard let expected = profile.challengePassword, !expected.isEmpty else {
            let hint = profile.intune == nil ? "" : " and the challenge is not a signed Intune challenge"
            return Refusal(.challengeInvalid, "profile \(profile.name) has no static challenge password configured\(hint)")
        }
        guard let presented, !presented.isEmpty else {
            // The likely cause when this profile's own challenge is one such clients cannot send.
            return Refusal(.challengeInvalid, "the CSR carries no challengePassword" + (profile.challengeCharacterProblem.map { " (\($0))" } ?? ""))
        }
        guard ConstantTime.equals(presented, expected) else {
            return Refusal(.challengeInvalid, "challengePassword does not match profile \(profile.name)'s static password")
        }
        return nil
    }

    /// For the audit record: a refused challenge's claim, but only when its
    /// signature verified (a forged claim is not worth recording as fact).
    static func claimPastSignature(_ challenge: String, refusal: Refusal, anchors: TrustAnchors) -> IntuneClaim? {
        guard ![.malformed, .signatureInvalid, .unknownVersion].contains(refusal.outcome),
            case .success(let jws) = IntuneChallenge.parse(challenge)
        else { return nil }
        return try? IntuneClaim.parse(verifiedPayload: jws.payload).get()
    }
}
