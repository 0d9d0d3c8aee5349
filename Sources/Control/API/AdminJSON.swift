import Foundation
import ScepterProtocol

/// The admin API's JSON shapes (`openapi.yaml` describes each).
enum AdminJSON {
    struct Page<Item: Encodable>: Encodable {
        var items: [Item]
        /// Pass as `cursor` for the next page; absent on the last page.
        var nextCursor: String?
    }

    struct Revoked: Encodable {
        var revokedAt: Date
        var reason: Revocation.Reason
        var actor: String
        var invalidityDate: Date?

        init(_ entry: RevocationEntry) {
            revokedAt = entry.revokedAt
            reason = entry.reason
            actor = entry.actor
            invalidityDate = entry.invalidityDate
        }
    }

    struct Certificate: Encodable {
        var serial: String
        var profile: String
        var issuer: String
        var subject: String
        var subjectAlternativeNames: String
        var notBefore: Date
        var notAfter: Date
        var issuedAt: Date
        /// active, expired, revoked or superseded (expired is an active certificate past notAfter).
        var state: CertificateQuery.State
        var transactionID: String
        var deviceID: String?
        var revocation: Revoked?

        init(_ record: CertificateRecord, revocation: RevocationEntry?, now: Date) {
            serial = record.serialNumber
            profile = record.profile
            issuer = record.issuer
            subject = record.subject
            subjectAlternativeNames = record.subjectAlternativeNames
            notBefore = record.notBefore
            notAfter = record.notAfter
            issuedAt = record.createdAt
            state =
                switch record.status {
                case .revoked: .revoked
                case .superseded: .superseded
                case .active: record.notAfter < now ? .expired : .active
                }
            transactionID = record.transactionID
            deviceID = record.deviceID
            self.revocation = revocation.map(Revoked.init)
        }
    }

    struct Enrollment: Encodable {
        var transactionID: String
        var messageType: String
        var status: String
        var outcome: Outcome
        var reason: String
        var createdAt: Date

        init(_ record: EnrollmentRecord) {
            transactionID = record.transactionID
            messageType = record.messageType
            status = record.status.rawValue
            outcome = record.outcome
            reason = record.reason
            createdAt = record.createdAt
        }
    }

    struct CertificateDetail: Encodable {
        var certificate: Certificate
        var pem: String
        /// The issuing CA and the intermediates above it, PEM, nearest first.
        var chain: [String]
        var enrollment: Enrollment?
        /// The audit events of the transaction that produced it and of everything done to it since.
        var audit: [AuditEvent]
    }

    /// Who the token belongs to, for the console to show only what the role may do.
    struct Session: Encodable {
        var name: String
        var roles: [String]
    }

    struct DayCount: Encodable {
        /// `2026-11-30` (UTC).
        var day: String
        var count: Int
    }

    struct Overview: Encodable {
        var active: Int
        var expiringIn30Days: Int
        var revoked: Int
        var superseded: Int
        /// The last 30 UTC days, oldest first, today last.
        var issuedPerDay: [DayCount]
        /// The next 90 UTC days from today: active certificates whose notAfter falls on each.
        var expiringPerDay: [DayCount]
    }

    struct RevokeAnswer: Encodable {
        var certificate: Certificate
        /// True when it was revoked before this request (the request changed nothing).
        var alreadyRevoked: Bool
    }
}
