import Foundation
import ScepterProtocol

/// The challenge gates of a PKCSReq (SPEC §5.1): a signed Intune challenge
/// through gates 2–9, anything else as a static password.
struct ChallengeGate {
    /// What passed, for the enrollment job and the audit record.
    struct Passed {
        var gates: [String]
        var claim: IntuneClaim?
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
        // Gate 1, shape: only a long, two-dot challenge on an Intune profile is a JWS.
        guard let intune = profile.intune, let challenge = csr.challengePassword, IntuneChallenge.looksSigned(challenge) else {
            if let refusal = Self.staticPassword(csr.challengePassword, profile: profile) {
                return .refused(refusal, claim: nil)
            }
            return .passed(Passed(gates: ["challenge:static"], claim: nil))
        }

        // Gates 2–6: signature, version, time, audience, CSR binding.
        let validator = IntuneValidator(anchors: intune.anchors.anchors, policy: intune.policy)
        let identity = IntuneValidator.CSRIdentity(
            commonName: csr.commonName, dnsNames: csr.subjectAlternativeNames.dnsNames,
            rfc822Names: csr.subjectAlternativeNames.rfc822Names, upns: csr.subjectAlternativeNames.userPrincipalNames)
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
            replayKey: claim.replayKey(challenge: challenge), transactionID: transactionID,
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
            return .refused(Refusal(.replay, "challenge nonce already used by another transaction"), claim: claim)
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
        return .passed(Passed(gates: gates, claim: claim))
    }

    /// The static password, compared in constant time.
    static func staticPassword(_ presented: String?, profile: EdgeConfiguration.Profile) -> Refusal? {
        guard let expected = profile.challengePassword, !expected.isEmpty else {
            let hint = profile.intune == nil ? "" : " and the challenge is not a signed Intune challenge"
            return Refusal(.challengeInvalid, "profile \(profile.name) has no static challenge password configured\(hint)")
        }
        guard let presented, !presented.isEmpty else {
            return Refusal(.challengeInvalid, "the CSR carries no challengePassword")
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
