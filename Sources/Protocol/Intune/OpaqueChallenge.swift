/// An opaque Intune challenge (`INTUNE_MODE=intune-api`): only Intune's
/// validateRequest can judge it, so the edge checks no more than its shape.
package enum OpaqueChallenge {
    /// Intune's challenges are a few hundred to a few thousand base64
    /// characters; anything longer is refused before it costs a call.
    package static let maximumLength = 16 * 1024

    /// Why `challenge` is never worth a call to Intune; nil when it may be one.
    package static func shapeRefusal(_ challenge: String) -> Refusal? {
        let length = challenge.utf8.count
        guard length <= maximumLength else {
            return Refusal(.malformed, "the challenge is \(length) bytes; an Intune challenge is at most \(maximumLength)")
        }
        // Intune's challenges are printable ASCII without spaces; binary or
        // control characters are never worth a call to Intune.
        guard challenge.unicodeScalars.allSatisfy({ (0x21..<0x7f).contains($0.value) }) else {
            return Refusal(.malformed, "the challenge holds characters an Intune challenge never has (control, space or non-ASCII)")
        }
        return nil
    }

    /// The cluster-wide replay key: no device is known before Intune answers.
    package static func replayKey(_ challenge: String) -> String {
        "intune-api:" + SHA256Hex.of(challenge)
    }
}
