import ScepterTesting
import Foundation
import ScepterProtocol

/// Keys, anchors and a valid challenge shared by the Intune tests.
///
/// RSA key generation is slow in debug builds, so the Connectors are made
/// once per test process.
struct IntuneFixture: Sendable {
    /// The fixed "now" of every test; whole seconds, like certificate times.
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    static let audience = "https://scep.example.com/scep/corp"

    /// The CSR that matches ``claims(iat:exp:)``.
    static let csr = IntuneValidator.CSRIdentity(
        commonName: "LAPTOP-0042",
        dnsNames: ["laptop-0042.corp.example"],
        rfc822Names: ["alice@corp.example"],
        upns: ["alice@corp.example"]
    )

    private static let shared = Result { try IntuneFixture() }

    /// The shared fixture; throws if the keys or certificates could not be made.
    static func get() throws -> IntuneFixture {
        try shared.get()
    }

    /// The primary Connector (RSA).
    let rsa: TestConnector
    /// The second Connector of the HA pair (RSA).
    let rsaStandby: TestConnector
    /// A Connector with a P-256 key.
    let p256: TestConnector
    /// An RSA Connector that is in no bundle.
    let outsider: TestConnector

    private init() throws {
        let notBefore = Self.now.addingTimeInterval(-30 * 86_400)
        let notAfter = Self.now.addingTimeInterval(365 * 86_400)
        rsa = try TestConnector(.rsa, commonName: "Connector A", notBefore: notBefore, notAfter: notAfter)
        rsaStandby = try TestConnector(.rsa, commonName: "Connector B", notBefore: notBefore, notAfter: notAfter)
        p256 = try TestConnector(.p256, commonName: "Connector EC", notBefore: notBefore, notAfter: notAfter)
        outsider = try TestConnector(.rsa, commonName: "Rogue", notBefore: notBefore, notAfter: notAfter, keyUnlike: [rsa, rsaStandby])
    }

    /// Trust anchors made of the given Connectors' certificates.
    func anchors(_ connectors: TestConnector...) throws -> TrustAnchors {
        let bundle = try connectors.map { try $0.pem }.joined(separator: "\n")
        return try TrustAnchors(pemBundle: bundle, now: Self.now)
    }

    /// A validator trusting the primary RSA Connector and the P-256 one, requiring ``audience``.
    func validator(policy: IntuneValidator.Policy = .init(audience: audience)) throws -> IntuneValidator {
        IntuneValidator(anchors: try anchors(rsa, p256), policy: policy)
    }

    /// Claims that pass every gate at ``now`` for ``csr``: minted a minute ago, valid for 30 minutes.
    static func claims(iat: Double = -60, exp: Double = 1_740) -> [String: Any] {
        [
            "iss": "https://connector.corp.example/tenant-0f0e",
            "sub": "7c1f6a1e-5b2d-4c8e-9a0b-1d2e3f405162",
            "aud": audience,
            "iat": now.timeIntervalSince1970 + iat,
            "exp": now.timeIntervalSince1970 + exp,
            "nonce": "b5f7c1d2e3a4",
            "device_name": "LAPTOP-0042",
            "san_dns": ["laptop-0042.corp.example"],
            "san_rfc822": ["alice@corp.example"],
            "san_upn": ["alice@corp.example"],
        ]
    }
}
