import Foundation

/// Validates a signed Intune challenge against a profile's trust anchors and policy (SPEC §5.1 gates 2–6).
///
/// Pure: the caller supplies the clock and keeps the stateful gates (replay,
/// rate limit) for itself, keyed by ``IntuneClaim/replayKey(challenge:)`` and
/// ``IntuneClaim/deviceKey``. The shape check (gate 1) is
/// ``IntuneChallenge/looksSigned(_:)``, done by the caller to choose between
/// this and a static password.
public struct IntuneValidator: Sendable {
    /// The Connector certificates a challenge must be signed by.
    public var anchors: TrustAnchors

    /// The profile's limits.
    public var policy: Policy

    /// Creates a validator.
    public init(anchors: TrustAnchors, policy: Policy = Policy()) {
        self.anchors = anchors
        self.policy = policy
    }

    /// A profile's Intune limits (SPEC §9 `INTUNE_*`).
    public struct Policy: Sendable, Equatable {
        /// The required `aud`, compared byte for byte; nil or empty disables the audience gate.
        public var audience: String?

        /// The longest `exp - iat` accepted (default 60 minutes), whatever the Connector minted.
        public var challengeValidityCap: Duration

        /// How far the Connector's clock may be off from ours, either way (default 60 seconds).
        ///
        /// Must not be negative; configuration loading checks that.
        public var clockSkew: Duration

        /// SAN types a CSR may carry (`ALLOWED_SAN_TYPES`, default dns, email, upn).
        /// DNS, e-mail and UPN values must still equal the claim's; the other
        /// types have no claim to bind them, so allowing one lets the device
        /// name any value of it.
        public var allowedSANTypes: Set<SANType>

        /// Creates a policy.
        public init(
            audience: String? = nil,
            challengeValidityCap: Duration = .seconds(60 * 60),
            clockSkew: Duration = .seconds(60),
            allowedSANTypes: Set<SANType> = SANType.boundByClaims
        ) {
            self.audience = audience
            self.challengeValidityCap = challengeValidityCap
            self.clockSkew = clockSkew
            self.allowedSANTypes = allowedSANTypes
        }
    }

    /// The kinds of SubjectAltName a profile can allow (`ALLOWED_SAN_TYPES`).
    public enum SANType: String, Sendable, CaseIterable, Hashable {
        case dns, email, upn, uri, ip
        /// directoryName, otherNames other than UPN, registeredID and the rest.
        case other

        /// The types an Intune claim binds value by value.
        public static let boundByClaims: Set<SANType> = [.dns, .email, .upn]
    }

    /// What the device's CSR asks for: the values the claim must bind.
    public struct CSRIdentity: Sendable, Equatable {
        /// The subject CN; nil when the subject has none.
        public var commonName: String? {
            get { commonNames.first }
            set { commonNames = newValue.map { [$0] } ?? [] }
        }
        /// Every CN of the subject: a claim binds exactly one.
        public var commonNames: [String]
        /// SAN dNSName values.
        public var dnsNames: [String]
        /// SAN rfc822Name values.
        public var rfc822Names: [String]
        /// SAN otherName UPN (1.3.6.1.4.1.311.20.2.3) values.
        public var upns: [String]
        /// SAN values no claim binds: URIs (e.g. a SID URI), IP addresses, and any other kind.
        public var unbound: [(type: SANType, value: String)]

        /// Creates a CSR identity.
        public init(
            commonName: String?, dnsNames: [String] = [], rfc822Names: [String] = [], upns: [String] = [],
            unbound: [(type: SANType, value: String)] = [], commonNames: [String]? = nil
        ) {
            self.commonNames = commonNames ?? (commonName.map { [$0] } ?? [])
            self.dnsNames = dnsNames
            self.rfc822Names = rfc822Names
            self.upns = upns
            self.unbound = unbound
        }

        public static func == (lhs: CSRIdentity, rhs: CSRIdentity) -> Bool {
            lhs.commonNames == rhs.commonNames && lhs.dnsNames == rhs.dnsNames && lhs.rfc822Names == rhs.rfc822Names
                && lhs.upns == rhs.upns && lhs.unbound.map(\.type) == rhs.unbound.map(\.type) && lhs.unbound.map(\.value) == rhs.unbound.map(\.value)
        }
    }

    /// Runs gates 2 to 6 in order and returns the claim, or the first gate's refusal.
    ///
    /// The refusal's reason is meant for the operator's log and never quotes
    /// the whole challenge.
    public func validate(_ challenge: String, csr: CSRIdentity, now: Date) -> Result<IntuneClaim, Refusal> {
        do throws(Refusal) {
            // 2. Signature: structure (malformed), then alg and signature (signature_invalid).
            let jws = try IntuneChallenge.parse(challenge).get()
            let usable = anchors.valid(at: now)
            guard !usable.anchors.isEmpty else {
                throw Refusal(.signatureInvalid, "every trust anchor of this profile is outside its validity; rotate the Connector bundle")
            }
            try jws.verifySignature(against: usable)

            // 3. Version: only now is the payload trusted enough to read.
            let claim = try IntuneClaim.parse(verifiedPayload: jws.payload).get()

            // 4. Time.
            try checkTime(of: claim, now: now)

            // 5. Audience.
            try checkAudience(of: claim)

            // 6. CSR binding.
            try checkBinding(of: claim, to: csr)

            return .success(claim)
        } catch {
            return .failure(error)
        }
    }

    /// Gate 4: `now + skew >= iat`, `now - skew < exp`, and `exp - iat` within the cap.
    ///
    /// An `exp` not after `iat` is `malformed`: no clock makes such a claim valid.
    func checkTime(of claim: IntuneClaim, now: Date) throws(Refusal) {
        let skew = policy.clockSkew.timeInterval
        let cap = policy.challengeValidityCap.timeInterval
        let iat = claim.issuedAt
        let exp = claim.expiresAt

        guard exp > iat else {
            throw Refusal(.malformed, "exp \(exp.reasonText) is not after iat \(iat.reasonText)")
        }
        guard now.addingTimeInterval(skew) >= iat else {
            let ahead = iat.timeIntervalSince(now).reasonText
            throw Refusal(
                .notYetValid,
                "iat \(iat.reasonText) is \(ahead) s ahead of now, beyond the \(skew.reasonText) s skew"
            )
        }
        guard now.addingTimeInterval(-skew) < exp else {
            let ago = now.timeIntervalSince(exp).reasonText
            throw Refusal(.expired, "exp \(exp.reasonText) passed \(ago) s ago, beyond the \(skew.reasonText) s skew")
        }
        let validity = exp.timeIntervalSince(iat)
        guard validity <= cap else {
            throw Refusal(
                .expired,
                "validity exp - iat of \(validity.reasonText) s is above the cap of \(cap.reasonText) s"
            )
        }
    }

    /// Gate 5: when an audience is configured, `aud` must be exactly it (a single-element array counts).
    ///
    /// An array with more values is refused even if it contains ours: the
    /// challenge would then be good at another service as well, and the
    /// Connector mints one audience.
    func checkAudience(of claim: IntuneClaim) throws(Refusal) {
        guard let expected = policy.audience, !expected.isEmpty else { return }
        guard let audience = claim.audience else {
            throw Refusal(.wrongAudience, "aud is missing; expected \(expected.quotedForReason())")
        }
        // Byte comparison: String's == would equate canonically equivalent Unicode.
        guard audience.count == 1, audience[0].utf8.elementsEqual(expected.utf8) else {
            throw Refusal(
                .wrongAudience,
                "aud is \(audience.quotedForReason()); expected \(expected.quotedForReason())"
            )
        }
    }

    /// Gate 6: the CSR's CN and SANs must be what the claim says, dimension by dimension.
    ///
    /// Comparison is case-insensitive throughout, CN included: DNS names are
    /// case-insensitive, and Intune's templates may change the case of a
    /// device name between the claim and the CSR. SAN sets must be equal,
    /// order-free and de-duplicated. An absent or empty claim dimension allows
    /// no value: without a device_name the CSR may carry no CN, since nothing
    /// would bind it. Every differing dimension is named in the reason.
    func checkBinding(of claim: IntuneClaim, to csr: CSRIdentity) throws(Refusal) {
        var problems: [String] = []

        if csr.commonNames.count > 1 {
            problems.append("CSR has \(csr.commonNames.count) CNs \(csr.commonNames.quotedForReason()); a claim binds exactly one")
        }
        switch (claim.deviceName.flatMap { $0.isEmpty ? nil : $0 }, csr.commonName) {
        case (let deviceName?, let commonName?) where Folded(commonName) != Folded(deviceName):
            problems.append("CN \(commonName.quotedForReason()) differs from device_name \(deviceName.quotedForReason())")
        case (let deviceName?, nil):
            problems.append("CSR has no CN; device_name is \(deviceName.quotedForReason())")
        case (nil, let commonName?):
            problems.append("CSR has CN \(commonName.quotedForReason()) but the claim has no device_name to bind it")
        default:
            break
        }
        // Each bound dimension equals the claim's, an empty claim dimension allowing no value.
        let dimensions: [(type: SANType, name: String, claim: [String], csr: [String])] = [
            (.dns, "SAN DNS", claim.sanDNS, csr.dnsNames),
            (.email, "SAN RFC 822", claim.sanRFC822, csr.rfc822Names),
            (.upn, "SAN UPN", claim.sanUPN, csr.upns),
        ]
        for dimension in dimensions {
            if !dimension.csr.isEmpty, !policy.allowedSANTypes.contains(dimension.type) {
                problems.append("\(dimension.name) is not in ALLOWED_SAN_TYPES but the CSR has \(dimension.csr.quotedForReason())")
            } else if let difference = Self.setDifference(claim: dimension.claim, csr: dimension.csr) {
                problems.append("\(dimension.name) \(difference)")
            }
        }
        // Names no claim binds (a SID URI would map the certificate to any account in Active Directory).
        let refused = csr.unbound.filter { !policy.allowedSANTypes.contains($0.type) }
        if !refused.isEmpty {
            let allowed = SANType.allCases.filter(policy.allowedSANTypes.contains).map(\.rawValue).joined(separator: ",")
            problems.append(
                "CSR asks for SAN \(refused.map { "\($0.type.rawValue):\($0.value)" }.quotedForReason()), which no claim binds (ALLOWED_SAN_TYPES is \(allowed))")
        }

        guard problems.isEmpty else {
            throw Refusal(.claimMismatch, problems.joined(separator: "; "))
        }
    }

    /// How the CSR's values differ from the claim's as sets; nil when equal.
    private static func setDifference(claim: [String], csr: [String]) -> String? {
        let wanted = Set(claim.map(Folded.init))
        let present = Set(csr.map(Folded.init))
        guard wanted != present else { return nil }
        // Shown in input order, once each, so the reason reads like the CSR and claim.
        let extra = unique(csr.filter { !wanted.contains(Folded($0)) })
        let missing = unique(claim.filter { !present.contains(Folded($0)) })
        var parts: [String] = []
        if !extra.isEmpty { parts.append("CSR has \(extra.quotedForReason()) not in the claim") }
        if !missing.isEmpty { parts.append("CSR lacks \(missing.quotedForReason()) from the claim") }
        return parts.joined(separator: " and ")
    }

    private static func unique(_ values: [String]) -> [String] {
        var seen: Set<Folded> = []
        return values.filter { seen.insert(Folded($0)).inserted }
    }

    /// A name compared case-insensitively but otherwise byte for byte.
    ///
    /// String's own equality equates canonically equivalent Unicode; names in
    /// certificates are compared as the bytes they are.
    private struct Folded: Hashable {
        let bytes: [UInt8]
        init(_ name: String) { bytes = Array(name.lowercased().utf8) }
    }
}

extension TimeInterval {
    /// Seconds as a reason shows them: plain digits, or the short exponent form for absurd values.
    fileprivate var reasonText: String {
        guard abs(self) < 1e12 else { return "\(self)" }
        return formatted(.number.precision(.fractionLength(0...3)).grouping(.never))
    }
}

extension Date {
    /// A date as a reason shows it: ISO 8601, then the NumericDate in brackets.
    fileprivate var reasonText: String {
        "\(formatted(.iso8601)) (\(timeIntervalSince1970.reasonText))"
    }
}
