import Crypto
import Foundation
import _CryptoExtras

/// Mints signed Intune challenges the way a Connector does, plus the malformed ones a test needs.
///
/// Test-only. Kept free of test-framework calls so interop tests can reuse it.
public struct ChallengeMinter: Sendable {
    /// The key that signs.
    public var key: TestConnector.Key

    /// How the signature segment spells an ES256 signature.
    public enum ECDSAForm: Sendable {
        /// JOSE's 64-byte r||s (RFC 7518 §3.4).
        case raw
        /// ASN.1 DER, as some JWS libraries emit.
        case der
    }

    public init(_ connector: TestConnector) {
        key = connector.key
    }

    /// The alg that matches the key.
    public var algorithm: String {
        switch key {
        case .rsa: "RS256"
        case .p256: "ES256"
        case .p384: "ES384"
        }
    }

    /// Mints a challenge from a header and claims given as JSON objects.
    ///
    /// `header` defaults to `{"alg": <the key's alg>, "typ": "JWT"}`.
    public func mint(
        header: [String: Any]? = nil,
        claims: [String: Any],
        padded: Bool = false,
        ecdsaForm: ECDSAForm = .raw
    ) throws -> String {
        let header = header ?? ["alg": algorithm, "typ": "JWT"]
        return try mint(
            headerJSON: Self.json(header),
            payloadJSON: Self.json(claims),
            padded: padded,
            ecdsaForm: ecdsaForm
        )
    }

    /// Mints a challenge from the exact header and payload bytes, signing the on-wire `header.payload`.
    public func mint(
        headerJSON: [UInt8],
        payloadJSON: [UInt8],
        padded: Bool = false,
        ecdsaForm: ECDSAForm = .raw
    ) throws -> String {
        let signingInput =
            Self.base64url(headerJSON, padded: padded) + "." + Self.base64url(payloadJSON, padded: padded)
        let signature = try sign(Array(signingInput.utf8), ecdsaForm: ecdsaForm)
        return signingInput + "." + Self.base64url(signature, padded: padded)
    }

    /// The signature of `input` in JWS form.
    public func sign(_ input: [UInt8], ecdsaForm: ECDSAForm = .raw) throws -> [UInt8] {
        switch key {
        case .rsa(let rsa):
            let signature = try rsa.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            return Array(signature.rawRepresentation)
        case .p256(let p256):
            let signature = try p256.signature(for: SHA256.hash(data: input))
            return Array(ecdsaForm == .raw ? signature.rawRepresentation : signature.derRepresentation)
        case .p384(let p384):
            let signature = try p384.signature(for: SHA384.hash(data: input))
            return Array(signature.rawRepresentation)
        }
    }

    /// Base64url, with or without `=` padding.
    public static func base64url(_ bytes: some Sequence<UInt8>, padded: Bool = false) -> String {
        var text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
        if !padded {
            while text.hasSuffix("=") { text.removeLast() }
        }
        return text
    }

    /// Compact, key-sorted JSON, so the same claims always mint the same bytes.
    public static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
