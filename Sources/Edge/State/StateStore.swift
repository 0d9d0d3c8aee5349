import Foundation
import ScepterProtocol

/// Where edges keep the state they share: challenge replay keys and the
/// per-device sliding windows (SPEC §5.1 gates 7 and 8).
///
/// One call per request does both checks atomically, so two edges cannot
/// both admit the same challenge or the same device's fourth enrollment.
package protocol StateStore: Sendable {
    /// Checks and records one admission. Throws when the store is unreachable
    /// (the edge then answers 503).
    func admit(_ admission: Admission) async throws -> AdmissionResult

    /// Takes one token from `bucket` (a per-source token bucket holding at
    /// most `capacity` tokens, refilled at `capacity` per minute). nil when
    /// one was taken; otherwise how long until one will be there. Throws
    /// when the store is unreachable.
    func take(_ bucket: String, capacity: Int, now: Date) async throws -> Duration?

    /// nil when the store is usable now; otherwise why not (readiness).
    func problem() async -> String?
}

/// What a request asks the state store to admit.
package struct Admission: Sendable, Hashable {
    /// Single-use key of the challenge (its nonce, or its hash).
    package var replayKey: String
    /// Who uses it: profile, transactionID and CSR digest (`use(profile:transactionID:csr:)`).
    /// The same use again is a retransmission; any other use (another
    /// profile, transaction or CSR) is a replay.
    package var use: String
    /// How long the replay key is remembered (the challenge validity window).
    package var replayTTL: Duration
    /// The device's window key, e.g. "sub|iss"; nil: no rate limit.
    package var deviceKey: String?
    /// At most this many admissions per device per `window`; 0 disables.
    package var rateLimit: Int
    package var window: Duration
    package var now: Date

    package init(
        replayKey: String, use: String, replayTTL: Duration, deviceKey: String?, rateLimit: Int,
        window: Duration = .seconds(24 * 3600), now: Date
    ) {
        self.replayKey = replayKey
        self.use = use
        self.replayTTL = replayTTL
        self.deviceKey = deviceKey
        self.rateLimit = rateLimit
        self.window = window
        self.now = now
    }
}

extension Admission {
    /// The identity of one request using a challenge: a profile's
    /// transaction with one CSR. A client that sends the same request again
    /// (a retransmission) gets its original answer; the same challenge on
    /// another profile, or with another CSR under the same transaction, is a
    /// second use.
    package static func use(profile: String, transactionID: String, csr: [UInt8]) -> String {
        "\(profile.utf8.count):\(profile)|\(SHA256Hex.of(csr))|\(transactionID)"
    }
}

package enum AdmissionResult: Sendable, Hashable {
    /// First use: the request proceeds and counts against the device's window.
    case admitted
    /// The same request sent again: it gets its original answer.
    case retransmission
    /// The challenge was already used by another request.
    case replay
    /// The device is over its window.
    case rateLimited
}
