import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The Intune Certificate Connector certificates that signed challenges must verify against.
///
/// Several Connectors in high availability mean several certificates; a
/// challenge passes when any one of them verifies it. Loading refuses a
/// bundle that could not verify anything today, so a bad rotation is caught
/// at boot or reload rather than at the first enrollment.
public struct TrustAnchors: Sendable {
    /// The anchors, in bundle order.
    public let anchors: [Anchor]

    /// The SHA-256 fingerprints of the anchors, in bundle order; what edges compare to agree on a pool.
    public var fingerprints: [String] { anchors.map(\.fingerprint) }

    /// Loads a PEM bundle of one or more certificates, all of them valid at `now`.
    ///
    /// Throws when the bundle is empty, when a block is not a parseable
    /// X.509 certificate, when a key is neither RSA nor P-256 (no JWS
    /// algorithm accepted here could use it), and when any certificate is
    /// expired or not yet valid. The error names the certificate.
    public init(pemBundle: String, now: Date) throws(LoadError) {
        guard !pemBundle.allSatisfy(\.isWhitespace) else {
            throw LoadError(.empty, position: nil, subject: nil, reason: "the trust anchor bundle is empty")
        }
        let blocks: [PEMBundle.Block]
        switch PEMBundle.blocks(in: pemBundle) {
        case .success(let found): blocks = found
        case .failure(let error):
            throw LoadError(.unparseable, position: error.position, subject: nil, reason: error.reason)
        }
        guard !blocks.isEmpty else {
            throw LoadError(
                .unparseable,
                position: nil,
                subject: nil,
                reason: "no PEM block found; expected -----BEGIN CERTIFICATE-----"
            )
        }

        var anchors: [Anchor] = []
        for (offset, block) in blocks.enumerated() {
            anchors.append(try Anchor(block, position: offset + 1, now: now))
        }
        self.anchors = anchors
    }

    private init(anchors: [Anchor]) {
        self.anchors = anchors
    }

    /// The anchors valid at `now`: one that expires while loaded stops
    /// verifying challenges at its notAfter, as it would have at boot.
    public func valid(at now: Date) -> TrustAnchors {
        TrustAnchors(anchors: anchors.filter { $0.notBefore <= now && now <= $0.notAfter })
    }

    /// One Connector signing certificate.
    public struct Anchor: Sendable, Equatable {
        /// The certificate.
        public let certificate: Certificate

        /// The subject distinguished name, RFC 4514 style (`CN=…,O=…`).
        public let subject: String

        /// SHA-256 of the certificate's DER, lowercase hex; matches `openssl x509 -fingerprint -sha256` without colons.
        public let fingerprint: String

        /// The first instant the certificate is valid.
        public var notBefore: Date { certificate.notValidBefore }

        /// The last instant the certificate is valid.
        public var notAfter: Date { certificate.notValidAfter }

        fileprivate init(_ block: PEMBundle.Block, position: Int, now: Date) throws(LoadError) {
            guard block.label == "CERTIFICATE" else {
                throw LoadError(
                    .unparseable,
                    position: position,
                    subject: nil,
                    reason: "the block is a \(block.label), not a CERTIFICATE"
                )
            }
            let certificate: Certificate
            do {
                certificate = try Certificate(derEncoded: block.der)
            } catch {
                throw LoadError(
                    .unparseable,
                    position: position,
                    subject: nil,
                    reason: "not a valid X.509 certificate (\(error))"
                )
            }
            let subject = certificate.subject.description

            let key = certificate.publicKey
            guard _RSA.Signing.PublicKey(key) != nil || P256.Signing.PublicKey(key) != nil else {
                throw LoadError(
                    .unsupportedKey,
                    position: position,
                    subject: subject,
                    reason: "its key is neither RSA nor P-256, so it cannot verify RS256 or ES256"
                )
            }
            if now < certificate.notValidBefore {
                throw LoadError(
                    .notYetValid,
                    position: position,
                    subject: subject,
                    reason: "not valid before \(certificate.notValidBefore.formatted(.iso8601))"
                )
            }
            if now > certificate.notValidAfter {
                throw LoadError(
                    .expired,
                    position: position,
                    subject: subject,
                    reason: "expired at \(certificate.notValidAfter.formatted(.iso8601))"
                )
            }

            self.certificate = certificate
            self.subject = subject
            self.fingerprint = SHA256.hash(data: block.der).lowercaseHex
        }

        /// Whole days left until ``notAfter``, rounded down; negative once expired.
        public func daysLeft(now: Date) -> Int { Self.daysLeft(until: notAfter, now: now) }

        /// The console's expiry badge at `now`.
        public func badge(now: Date) -> Badge { Badge(notAfter: notAfter, now: now) }

        /// Whole days from `now` to `notAfter`, rounded down; negative once past.
        public static func daysLeft(until notAfter: Date, now: Date) -> Int {
            let days = (notAfter.timeIntervalSince(now) / 86_400).rounded(.down)
            // Clamped so that an absurd notAfter cannot trap the conversion.
            return Int(max(min(days, 1e9), -1e9))
        }

        /// How soon an anchor needs rotating (SPEC §8).
        public enum Badge: String, Sendable, Codable, CaseIterable {
            /// 30 days or more left.
            case green
            /// 7 to 29 days left: rotate soon.
            case amber
            /// Fewer than 7 days left.
            case red
            /// Past notAfter; challenges it signed no longer verify.
            case expired

            /// The badge of a certificate valid until `notAfter`, at `now`.
            public init(notAfter: Date, now: Date) {
                guard now <= notAfter else {
                    self = .expired
                    return
                }
                switch Anchor.daysLeft(until: notAfter, now: now) {
                case 30...: self = .green
                case 7..<30: self = .amber
                default: self = .red
                }
            }
        }
    }

    /// Why a trust anchor bundle was refused.
    public struct LoadError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What kind of problem it is.
        public var code: Code

        /// The certificate's 1-based position in the bundle, when one certificate is at fault.
        public var position: Int?

        /// The certificate's subject, when it could be read.
        public var subject: String?

        /// What is wrong, for the operator.
        public var reason: String

        /// Creates an error.
        public init(_ code: Code, position: Int?, subject: String?, reason: String) {
            self.code = code
            self.position = position
            self.subject = subject
            self.reason = reason
        }

        public var description: String {
            switch (position, subject) {
            case (let position?, let subject?): "certificate \(position) (\(subject)): \(reason)"
            case (let position?, nil): "certificate \(position): \(reason)"
            case (nil, _): reason
            }
        }

        /// The kind of load error; an open set, so new kinds can be added.
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            private let name: String

            private init(_ name: String) { self.name = name }

            public var description: String { name }

            /// The bundle holds nothing.
            public static let empty = Code("empty")
            /// A block is not PEM, not a certificate, or not valid X.509.
            public static let unparseable = Code("unparseable")
            /// A certificate's key cannot verify any accepted algorithm.
            public static let unsupportedKey = Code("unsupported_key")
            /// A certificate is past its notAfter.
            public static let expired = Code("expired")
            /// A certificate is before its notBefore.
            public static let notYetValid = Code("not_yet_valid")
        }
    }
}
