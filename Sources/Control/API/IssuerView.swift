import Foundation
import X509
import ScepterProtocol

/// An issuer for `GET /api/v1/issuers`: every configured CA, the one a
/// profile issues from and the one a rollover retired alike, and every
/// issuer name the inventory still holds unexpired certificates of but no
/// longer configures. It answers the operator's question after a rollover:
/// how long must the old issuer stay configured.
struct IssuerView: Encodable {
    /// The issuer's CA certificate, as the profiles' view shows it.
    struct CA: Encodable {
        var subject: String
        var notAfter: Date
        /// Whole days until the CA certificate's notAfter, and its badge by the trust anchors' rule.
        var daysLeft: Int
        var badge: TrustAnchors.Anchor.Badge

        init(_ certificate: Certificate, now: Date) {
            subject = certificate.subject.description
            notAfter = certificate.notValidAfter
            daysLeft = TrustAnchors.Anchor.daysLeft(until: notAfter, now: now)
            badge = .init(notAfter: notAfter, now: now)
        }
    }

    /// What the issuer still answers for: its certificates not yet expired.
    struct Certificates: Encodable {
        var unexpired: Int
        var active: Int
        var revoked: Int
        /// When the last of them expires (absent: none left); a retired issuer may go once this is past.
        var lastExpiry: Date?
    }

    var name: String
    var state: IssuerStatus.State
    /// Absent for an unconfigured name.
    var ca: CA?
    /// The profiles that issue from it, sorted.
    var profiles: [String]
    /// Where relying parties read its CRL and OCSP: `SCEPTER_PUBLIC_URL`'s, or the path on this server without it.
    var crlURL: String
    var ocspURL: String
    var certificates: Certificates
    /// Entries on its CRL: every revocation recorded under this name.
    var revocations: Int

    static func all(_ configuration: ControlConfiguration, store: any ControlStore, now: Date) async throws -> [IssuerView] {
        var views: [IssuerView] = []
        for status in IssuerStatus.all(configuration, inventory: try await store.issuerInventory(now: now)) {
            let (name, inventory) = (status.name, status.inventory)
            views.append(
                IssuerView(
                    name: name, state: status.state, ca: status.ca.map { CA($0.certificate, now: now) }, profiles: status.profiles,
                    crlURL: configuration.crlURL(issuer: name) ?? ControlConfiguration.crlPath(issuer: name),
                    ocspURL: configuration.ocspURL(issuer: name) ?? ControlConfiguration.ocspPath(issuer: name),
                    certificates: Certificates(
                        unexpired: inventory?.unexpired ?? 0, active: inventory?.active ?? 0, revoked: inventory?.revoked ?? 0,
                        lastExpiry: inventory?.lastExpiry),
                    revocations: try await store.revocationStamp(issuer: name).count))
        }
        return views
    }
}
