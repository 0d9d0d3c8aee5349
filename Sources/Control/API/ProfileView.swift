import Foundation
import SwiftASN1
import X509
import ScepterProtocol

/// A profile's effective configuration for `GET /api/v1/profiles`: the
/// control plane's half, and the edges' half as their heartbeats report it;
/// every setting as in force, secrets only as `set`.
struct ProfileView: Encodable {
    /// Live edges whose settings for the profile are the same.
    struct EdgeGroup: Encodable {
        var edges: [String]
        var settings: EdgeProfileSettings
        /// The RA certificate's days left and badge, by the trust anchors' rule.
        var raDaysLeft: Int
        var raBadge: TrustAnchors.Anchor.Badge
    }

    /// The issuing CA: its name, then its certificate as `GET /api/v1/issuers` shows it.
    struct Issuer: Encodable {
        var name: String
        var ca: IssuerView.CA

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(name, forKey: .name)
            try ca.encode(to: encoder)
        }

        private enum Keys: String, CodingKey { case name }
    }

    struct Policy: Encodable {
        var validitySeconds: Int64
        var maxValiditySeconds: Int64?
        var allowedEKUs: [String]
        var minRSABits: Int
        /// `KEY_USAGE` as configured; nil: the default (digitalSignature, and keyEncipherment for RSA keys).
        var keyUsage: [String]?
    }

    struct IntuneAPI: Encodable {
        var mode = "intune-api"
        var tenantID: String
        var clientID: String
        /// `secret` or `certificate`.
        var credential: String
        var clientSecret: String?
        var clientCertificate: String?
        var loginURL: String
        var graphURL: String
        var resourceURL: String
        var timeoutSeconds: Int64
    }

    var name: String
    var issuer: Issuer
    var policy: Policy
    var intune: IntuneAPI?
    /// One group per distinct setting among the live edges serving the
    /// profile: more than one group means the edges disagree. nil when the
    /// heartbeats could not be read (Redis unreachable).
    var edges: [EdgeGroup]?

    init(_ profile: ControlConfiguration.Profile, edges heartbeats: [EdgeHeartbeat]?, now: Date) {
        name = profile.name
        edges = heartbeats.map { heartbeats in
            var groups: [EdgeGroup] = []
            for heartbeat in heartbeats.sorted(by: { $0.edgeID < $1.edgeID }) {
                guard let settings = heartbeat.profiles[profile.name] else { continue }
                if let index = groups.firstIndex(where: { $0.settings == settings }) {
                    groups[index].edges.append(heartbeat.edgeID)
                } else {
                    let notAfter = settings.raNotAfter
                    groups.append(
                        EdgeGroup(
                            edges: [heartbeat.edgeID], settings: settings, raDaysLeft: TrustAnchors.Anchor.daysLeft(until: notAfter, now: now),
                            raBadge: .init(notAfter: notAfter, now: now)))
                }
            }
            return groups
        }
        issuer = Issuer(name: profile.issuer.name, ca: IssuerView.CA(profile.issuer.certificate, now: now))
        policy = Policy(
            validitySeconds: profile.policy.validity.components.seconds, maxValiditySeconds: profile.policy.maxValidity?.components.seconds,
            allowedEKUs: profile.policy.allowedEKUs.map(Self.name), minRSABits: profile.policy.minRSABits,
            keyUsage: profile.policy.keyUsage.map { bits in CertificateProfile.KeyUsageBit.allCases.filter(bits.contains).map(\.rawValue) })
        intune = profile.intuneAPI.map { settings in
            var view = IntuneAPI(
                tenantID: settings.tenantID, clientID: settings.clientID, credential: "secret", loginURL: settings.loginURL,
                graphURL: settings.graphURL, resourceURL: settings.resourceURL, timeoutSeconds: settings.timeout.components.seconds)
            switch settings.credential {
            case .secret:
                view.clientSecret = "set"
            case .certificate(let der, _):
                view.credential = "certificate"
                view.clientCertificate = (try? Certificate(derEncoded: der))?.subject.description
            }
            return view
        }
    }

    static func all(_ configuration: ControlConfiguration, edges: [EdgeHeartbeat]?, now: Date) -> [ProfileView] {
        configuration.profiles.values.sorted { $0.name < $1.name }.map { ProfileView($0, edges: edges, now: now) }
    }

    private static func name(_ usage: ExtendedKeyUsage.Usage) -> String {
        switch usage {
        case .clientAuth: "clientAuth"
        case .serverAuth: "serverAuth"
        case .codeSigning: "codeSigning"
        case .emailProtection: "emailProtection"
        case .timeStamping: "timeStamping"
        case .ocspSigning: "ocspSigning"
        case .any: "any"
        default: usage.description
        }
    }
}
