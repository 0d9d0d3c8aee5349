import Crypto
import Foundation

/// The claims of a v1 Intune signed challenge: who the device is and what its CSR may ask for.
///
/// Decoded only after the signature has been verified. `iss`, `sub`, `iat`
/// and `exp` are required (the rate limit keys on `sub` and `iss`; the time
/// gate needs the dates); everything else may be absent. Unknown claims are
/// ignored.
public struct IntuneClaim: Codable, Sendable, Equatable {
    /// `version`: nil or `"v1"` for the claims this type describes.
    public var version: String?

    /// `iss`: the Connector (tenant) that minted the challenge.
    public var issuer: String

    /// `sub`: the device (or user) the challenge was minted for.
    public var subject: String

    /// `aud`: the audience values; nil when the claim is absent.
    ///
    /// JWT allows a string or an array of strings; a string decodes to one
    /// element and one element encodes back as a string.
    public var audience: [String]?

    /// `iat`: when the challenge was minted (NumericDate, fractional seconds allowed).
    public var issuedAt: Date

    /// `exp`: when the challenge stops being valid (NumericDate).
    public var expiresAt: Date

    /// `nonce`: the single-use value the replay gate keys on, when present.
    public var nonce: String?

    /// `device_name`: the CN the CSR must carry, when present.
    public var deviceName: String?

    /// `san_dns`: the DNS names the CSR's SAN must carry; empty constrains nothing.
    public var sanDNS: [String]

    /// `san_rfc822`: the e-mail addresses the CSR's SAN must carry; empty constrains nothing.
    public var sanRFC822: [String]

    /// `san_upn`: the UPNs (otherName 1.3.6.1.4.1.311.20.2.3) the CSR's SAN must carry; empty constrains nothing.
    public var sanUPN: [String]

    /// Creates a claim.
    public init(
        version: String? = nil,
        issuer: String,
        subject: String,
        audience: [String]? = nil,
        issuedAt: Date,
        expiresAt: Date,
        nonce: String? = nil,
        deviceName: String? = nil,
        sanDNS: [String] = [],
        sanRFC822: [String] = [],
        sanUPN: [String] = []
    ) {
        self.version = version
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.nonce = nonce
        self.deviceName = deviceName
        self.sanDNS = sanDNS
        self.sanRFC822 = sanRFC822
        self.sanUPN = sanUPN
    }

    /// The key the device rate limit counts under: (`sub`, `iss`).
    public var deviceKey: DeviceKey { DeviceKey(subject: subject, issuer: issuer) }

    /// Identifies one device across challenges, for the per-device rate limit.
    public struct DeviceKey: Hashable, Sendable, Codable {
        /// The claim's `sub`.
        public var subject: String
        /// The claim's `iss`.
        public var issuer: String

        /// Creates a key.
        public init(subject: String, issuer: String) {
            self.subject = subject
            self.issuer = issuer
        }

        /// One string for a key-value store: `<iss byte count>:<iss> <sub>`.
        ///
        /// The length prefix keeps it unambiguous whatever characters the
        /// claims hold; a plain `iss|sub` join would let two devices collide.
        public var storageKey: String {
            "\(issuer.utf8.count):\(issuer) \(subject)"
        }
    }

    /// The key the replay gate makes single-use: the nonce, or a hash of what was signed.
    ///
    /// Without a (non-empty) nonce it is the lowercase hex SHA-256 of the
    /// challenge's `header.payload`, the part before the last dot. The
    /// signature segment is left out on purpose: it has several spellings
    /// that all verify (base64url padding, r||s or DER, ECDSA's (r, n−s)), and
    /// hashing it would let a captured challenge be replayed under a new key.
    public func replayKey(challenge: String) -> String {
        if let nonce, !nonce.isEmpty {
            return nonce
        }
        let bytes = challenge.utf8
        let signed = bytes.lastIndex(of: UInt8(ascii: ".")).map { bytes[..<$0] } ?? bytes[...]
        return SHA256.hash(data: Array(signed)).lowercaseHex
    }

    enum CodingKeys: String, CodingKey {
        case version
        case issuer = "iss"
        case subject = "sub"
        case audience = "aud"
        case issuedAt = "iat"
        case expiresAt = "exp"
        case nonce
        case deviceName = "device_name"
        case sanDNS = "san_dns"
        case sanRFC822 = "san_rfc822"
        case sanUPN = "san_upn"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(String.self, forKey: .version)
        issuer = try container.decode(String.self, forKey: .issuer)
        subject = try container.decode(String.self, forKey: .subject)
        if container.contains(.audience), try !container.decodeNil(forKey: .audience) {
            if let single = try? container.decode(String.self, forKey: .audience) {
                audience = [single]
            } else {
                audience = try container.decode([String].self, forKey: .audience)
            }
        }
        issuedAt = Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .issuedAt))
        expiresAt = Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .expiresAt))
        nonce = try container.decodeIfPresent(String.self, forKey: .nonce)
        deviceName = try container.decodeIfPresent(String.self, forKey: .deviceName)
        sanDNS = try container.decodeIfPresent([String].self, forKey: .sanDNS) ?? []
        sanRFC822 = try container.decodeIfPresent([String].self, forKey: .sanRFC822) ?? []
        sanUPN = try container.decodeIfPresent([String].self, forKey: .sanUPN) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(version, forKey: .version)
        try container.encode(issuer, forKey: .issuer)
        try container.encode(subject, forKey: .subject)
        if let audience {
            if audience.count == 1 {
                try container.encode(audience[0], forKey: .audience)
            } else {
                try container.encode(audience, forKey: .audience)
            }
        }
        try container.encode(issuedAt.timeIntervalSince1970, forKey: .issuedAt)
        try container.encode(expiresAt.timeIntervalSince1970, forKey: .expiresAt)
        try container.encodeIfPresent(nonce, forKey: .nonce)
        try container.encodeIfPresent(deviceName, forKey: .deviceName)
        try container.encode(sanDNS, forKey: .sanDNS)
        try container.encode(sanRFC822, forKey: .sanRFC822)
        try container.encode(sanUPN, forKey: .sanUPN)
    }
}
