import Crypto

/// How Scepter signs each compliance webhook request, so the receiver can
/// tell it from a forgery and refuse a replay: `X-Scepter-Timestamp` carries
/// the unix time in seconds, and `X-Scepter-Signature` is `sha256=` and the
/// lowercase hex HMAC-SHA256, keyed with the profile's
/// `INTUNE_COMPLIANCE_SECRET` (its UTF-8 bytes), of the timestamp, a dot and
/// the exact body bytes.
package struct ComplianceSignature: Sendable {
    package static let signatureHeader = "X-Scepter-Signature"
    package static let timestampHeader = "X-Scepter-Timestamp"
    /// Shorter secrets are refused by the preflight: an HMAC key is only as
    /// strong as it is long.
    package static let minimumSecretBytes = 32

    private let key: SymmetricKey

    package init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    /// The `X-Scepter-Signature` value for `body` sent at `timestamp` (unix seconds).
    package func signature(timestamp: Int64, body: [UInt8]) -> String {
        var authenticator = HMAC<SHA256>(key: key)
        authenticator.update(data: Array("\(timestamp).".utf8))
        authenticator.update(data: body)
        return "sha256=" + authenticator.finalize().lowercaseHex
    }
}
