import Foundation

/// What an issuer name is to this control plane and what it still answers
/// for: the one reading `GET /api/v1/issuers`, the issuer metrics and the
/// hourly issuer checks share.
package struct IssuerStatus: Sendable {
    package enum State: String, Sendable, Encodable, CaseIterable {
        /// A profile issues from it.
        case current
        /// Configured, no profile issues from it: kept for its certificates' CRL, OCSP and renewal.
        case retired
        /// Not in `SCEPTER_ISSUERS`, yet the inventory holds unexpired certificates of it: their CRL and OCSP are not served.
        case unconfigured
    }

    package var name: String
    package var state: State
    /// nil when unconfigured.
    package var ca: LocalCA?
    /// The profiles that issue from it, sorted.
    package var profiles: [String]
    /// Its unexpired certificates; nil when none is left.
    package var inventory: IssuerInventory?

    /// Every configured issuer and every name `inventory` holds, sorted by name.
    package static func all(_ configuration: ControlConfiguration, inventory: [IssuerInventory]) -> [IssuerStatus] {
        let held = Dictionary(inventory.map { ($0.issuer, $0) }, uniquingKeysWith: { first, _ in first })
        return Set(configuration.issuers.keys).union(held.keys).sorted().map { name in
            let ca = configuration.issuers[name]
            let profiles = configuration.profiles.values.filter { $0.issuer.name == name }.map(\.name).sorted()
            let state: State = ca == nil ? .unconfigured : profiles.isEmpty ? .retired : .current
            return IssuerStatus(name: name, state: state, ca: ca, profiles: profiles, inventory: held[name])
        }
    }
}
