import Foundation
import ScepterProtocol

/// A search of the certificate inventory (SPEC §8 `GET /api/v1/certificates`);
/// nil filters match everything. Pages are keyset-paginated, so a page stays
/// stable while new certificates are issued.
package struct CertificateQuery: Sendable {
    /// What an operator filters on: `active` and `expired` depend on the clock.
    package enum State: String, Sendable, CaseIterable, Codable {
        case active, revoked, expired, superseded
    }

    package enum Sort: String, Sendable, CaseIterable {
        /// Newest first.
        case issued
        /// Soonest to expire first.
        case notAfter
    }

    package var profile: String?
    package var state: State?
    package var serialNumber: String?
    /// A substring of the subject or the SANs, case-insensitive.
    package var text: String?
    /// The device: its claim subject, or a substring of the subject.
    package var device: String?
    /// Exactly this claim subject (`certificates.device_id`).
    package var deviceID: String?
    package var issuedSince: Date?
    package var issuedUntil: Date?
    package var expiringBefore: Date?
    package var sort: Sort
    package var after: PageCursor?
    package var limit: Int
    package var now: Date

    package init(
        profile: String? = nil, state: State? = nil, serialNumber: String? = nil, text: String? = nil, device: String? = nil,
        deviceID: String? = nil, issuedSince: Date? = nil, issuedUntil: Date? = nil, expiringBefore: Date? = nil, sort: Sort = .issued, after: PageCursor? = nil,
        limit: Int = 100, now: Date = Date()
    ) {
        self.profile = profile
        self.state = state
        self.serialNumber = serialNumber
        self.text = text
        self.device = device
        self.deviceID = deviceID
        self.issuedSince = issuedSince
        self.issuedUntil = issuedUntil
        self.expiringBefore = expiringBefore
        self.sort = sort
        self.after = after
        self.limit = limit
        self.now = now
    }
}

/// Where the previous page ended: its last row's sort key and id (a
/// certificate's serial, an audit event's id). Keyset pages stay stable
/// while rows are added.
package struct PageCursor: Sendable, Codable, Hashable {
    package var key: Date
    package var id: String

    package init(key: Date, id: String) {
        self.key = key
        self.id = id
    }

    /// The instants the stores can hold: a cursor or filter outside them is refused, not stored.
    package static let instants = Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 253_402_300_799)  // 9999-12-31

    /// Opaque to clients: base64url of the JSON.
    package var token: String {
        let json = (try? InternalAPI.encoder().encode(self)) ?? Data()
        return json.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token; nil when it is not one (tampered, truncated, too long).
    package init?(token: String) {
        guard token.utf8.count <= 512 else { return nil }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let cursor = try? InternalAPI.decoder().decode(PageCursor.self, from: data),
            PageCursor.instants.contains(cursor.key), cursor.id.utf8.count <= 128
        else {
            return nil
        }
        self = cursor
    }
}

/// One page of certificates and where the next one starts (nil: the last page).
package struct CertificatePage: Sendable {
    package var certificates: [CertificateRecord]
    package var next: PageCursor?
}

/// A revocation as recorded: for CRL entries, OCSP answers and the API.
package struct RevocationEntry: Sendable, Hashable {
    package var serialNumber: String
    package var revokedAt: Date
    package var reason: Revocation.Reason
    package var actor: String
    package var invalidityDate: Date?
}

/// One UTC hour of a profile's PKIOperations.
package struct HourlyOutcomes: Sendable, Hashable {
    /// `2026-11-30T10`.
    package var hour: String
    package var successes: Int
    /// Every outcome but success and pending.
    package var failures: Int
}

/// The inventory at a glance.
package struct InventorySummary: Sendable, Hashable {
    package var active: Int
    package var expiringIn30Days: Int
    package var revoked: Int
    package var superseded: Int
    /// Certificates issued per UTC day (`2026-11-30`) over the last 30 days; days without any are absent.
    package var issuedPerDay: [String: Int]
    /// Active certificates expiring per UTC day over the next 90 days.
    package var expiringPerDay: [String: Int]
}

/// The certificates an issuer name still answers for: those not yet
/// expired, whose revocation its CRL and OCSP must go on publishing.
package struct IssuerInventory: Sendable, Hashable {
    package var issuer: String
    /// Not expired, in any state.
    package var unexpired: Int
    package var active: Int
    package var revoked: Int
    /// When the last of them expires; from then on the issuer answers for nothing.
    package var lastExpiry: Date
}

/// What changes whenever an issuer's revocations do.
package struct RevocationStamp: Sendable, Hashable {
    package var count: Int
    package var latest: Date?
}
