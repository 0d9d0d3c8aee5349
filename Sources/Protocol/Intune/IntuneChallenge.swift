import Foundation

/// A signed Intune challenge: a JWS in compact serialization (RFC 7515 §7.1), parsed but not yet trusted.
///
/// Parsing only checks structure. Nothing in here is trustworthy until
/// ``IntuneValidator`` has verified the signature.
public struct IntuneChallenge: Sendable, Equatable {
    /// Longest challenge accepted, in UTF-8 bytes.
    public static let maximumLength = 16 * 1024

    /// Largest decoded JOSE header accepted, in bytes.
    ///
    /// The header is parsed before the signature is checked, so it gets a
    /// tighter bound than the rest.
    public static let maximumHeaderLength = 4 * 1024

    /// The decoded JOSE header.
    public var header: Header

    /// The bytes the signature covers: the on-wire `header.payload`, exactly as received.
    ///
    /// Never re-encoded: a re-encoding could differ from what the Connector
    /// signed (padding, key order) and turn a good signature bad.
    public var signingInput: [UInt8]

    /// The decoded payload: the claims as JSON bytes.
    public var payload: [UInt8]

    /// The decoded signature.
    public var signature: [UInt8]

    /// The members of the JOSE header that the signature gate looks at.
    public struct Header: Sendable, Equatable {
        /// The `alg` member; nil when absent.
        public var algorithm: String?

        /// Whether the header carries `crit`, which names extensions a verifier must understand.
        public var hasCriticalExtensions: Bool

        /// Creates a header.
        public init(algorithm: String?, hasCriticalExtensions: Bool) {
            self.algorithm = algorithm
            self.hasCriticalExtensions = hasCriticalExtensions
        }
    }

    /// Whether a challenge password has the shape of a signed challenge (SPEC §5.1 gate 1).
    ///
    /// True when it is longer than 200 characters and has exactly two dots.
    /// Anything else is a static password. A false positive is harmless (it
    /// fails validation); a false negative would send a real signed challenge
    /// to the static-password compare.
    public static func looksSigned(_ challenge: String) -> Bool {
        // Characters never outnumber UTF-8 bytes, so short strings leave early.
        guard challenge.utf8.count > 200 else { return false }
        var dots = 0
        for byte in challenge.utf8 where byte == UInt8(ascii: ".") {
            dots += 1
            if dots > 2 { return false }
        }
        return dots == 2 && challenge.count > 200
    }

    /// Parses the three base64url segments and the JOSE header.
    ///
    /// Every failure here is `malformed`. Padded and unpadded base64url are
    /// both accepted in every segment. The payload is only decoded, not
    /// parsed: its JSON is read after the signature has been verified.
    public static func parse(_ challenge: String) -> Result<IntuneChallenge, Refusal> {
        let bytes = challenge.utf8
        guard bytes.count <= maximumLength else {
            return .failure(malformed("challenge is \(bytes.count) bytes; the limit is \(maximumLength)"))
        }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3 else {
            return .failure(
                malformed("challenge has \(segments.count - 1) dots; a JWS compact serialization has exactly 2")
            )
        }

        guard let headerBytes = Base64URL.decode(segments[0]) else {
            return .failure(malformed("JOSE header segment is not base64url"))
        }
        guard let payload = Base64URL.decode(segments[1]) else {
            return .failure(malformed("payload segment is not base64url"))
        }
        guard let signature = Base64URL.decode(segments[2]) else {
            return .failure(malformed("signature segment is not base64url"))
        }
        guard headerBytes.count <= maximumHeaderLength else {
            return .failure(
                malformed("JOSE header is \(headerBytes.count) bytes; the limit is \(maximumHeaderLength)")
            )
        }

        let header: Header
        switch Header.parse(headerBytes) {
        case .success(let parsed): header = parsed
        case .failure(let refusal): return .failure(refusal)
        }

        return .success(
            IntuneChallenge(
                header: header,
                signingInput: Array(bytes[bytes.startIndex..<segments[1].endIndex]),
                payload: payload,
                signature: signature
            )
        )
    }

    private static func malformed(_ reason: String) -> Refusal {
        Refusal(.malformed, reason)
    }
}

extension IntuneChallenge.Header {
    /// Reads `alg` and `crit` from the header JSON; ignores every other member.
    static func parse(_ bytes: [UInt8]) -> Result<Self, Refusal> {
        guard
            let json = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let object = json as? [String: Any]
        else {
            return .failure(Refusal(.malformed, "JOSE header is not a JSON object"))
        }
        var algorithm: String?
        if let value = object["alg"] {
            guard let name = value as? String else {
                return .failure(Refusal(.malformed, "JOSE header alg is not a string"))
            }
            algorithm = name
        }
        return .success(Self(algorithm: algorithm, hasCriticalExtensions: object["crit"] != nil))
    }
}
