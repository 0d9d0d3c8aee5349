import Foundation
import SwiftASN1
import X509

/// An X.509 v2 CRL (RFC 5280 §5.1) read field by field, so tests can check
/// the encoding choices that openssl's text output hides.
struct ParsedCRL {
    struct Time {
        /// True for UTCTime, false for GeneralizedTime.
        var isUTCTime: Bool
        var date: Date
    }

    struct Entry {
        /// The INTEGER's content octets as encoded.
        var serialContent: [UInt8]
        var revocationDate: Time
    }

    var version: Int?
    var tbsSignatureAlgorithm: ASN1ObjectIdentifier
    var tbsSignatureHasNullParameters: Bool
    var signatureAlgorithm: ASN1ObjectIdentifier
    var issuer: DistinguishedName
    var thisUpdate: Time
    var nextUpdate: Time?
    /// nil when the revokedCertificates field is absent.
    var revoked: [Entry]?
    var extensions: [Certificate.Extension]

    init(derEncoded bytes: [UInt8]) throws {
        let root = try DER.parse(bytes)
        let (tbs, algorithm, _) = try Self.three(root)
        (signatureAlgorithm, _) = try Self.algorithm(algorithm)
        guard case .constructed(let fields) = tbs.content else { throw Self.error("tbsCertList is not a SEQUENCE") }
        var iterator = fields.makeIterator()
        var node = try Self.next(&iterator)
        if node.identifier == .integer {
            version = try Int(derEncoded: node)
            node = try Self.next(&iterator)
        }
        (tbsSignatureAlgorithm, tbsSignatureHasNullParameters) = try Self.algorithm(node)
        issuer = try DistinguishedName(derEncoded: try Self.next(&iterator))
        thisUpdate = try Self.time(try Self.next(&iterator))
        extensions = []
        var following = iterator.next()
        if let candidate = following, candidate.identifier == .utcTime || candidate.identifier == .generalizedTime {
            nextUpdate = try Self.time(candidate)
            following = iterator.next()
        }
        if let candidate = following, candidate.identifier == .sequence {
            guard case .constructed(let entries) = candidate.content else { throw Self.error("revokedCertificates") }
            revoked = try entries.map { entry in
                guard case .constructed(let children) = entry.content else { throw Self.error("revoked entry") }
                var parts = children.makeIterator()
                let serial = try Self.next(&parts)
                guard serial.identifier == .integer, case .primitive(let content) = serial.content else {
                    throw Self.error("revoked serial is not an INTEGER")
                }
                return Entry(serialContent: Array(content), revocationDate: try Self.time(try Self.next(&parts)))
            }
            following = iterator.next()
        }
        if let candidate = following {
            guard candidate.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                case .constructed(let wrapper) = candidate.content,
                let sequence = wrapper.first(where: { _ in true }),
                case .constructed(let items) = sequence.content
            else { throw Self.error("crlExtensions") }
            extensions = try items.map { try Certificate.Extension(derEncoded: $0) }
            following = iterator.next()
        }
        guard following == nil else { throw Self.error("trailing fields in tbsCertList") }
    }

    /// The CRL number (2.5.29.20), when present.
    var crlNumber: Int? {
        get throws {
            guard let ext = extensions.first(where: { $0.oid == [2, 5, 29, 20] }) else { return nil }
            return try Int(derEncoded: ext.value)
        }
    }

    var authorityKeyIdentifier: ArraySlice<UInt8>? {
        get throws {
            guard let ext = extensions.first(where: { $0.oid == .X509ExtensionID.authorityKeyIdentifier }) else { return nil }
            return try AuthorityKeyIdentifier(ext).keyIdentifier
        }
    }

    private static func three(_ node: ASN1Node) throws -> (ASN1Node, ASN1Node, ASN1Node) {
        guard node.identifier == .sequence, case .constructed(let children) = node.content else {
            throw error("CertificateList is not a SEQUENCE")
        }
        var iterator = children.makeIterator()
        let result = (try next(&iterator), try next(&iterator), try next(&iterator))
        guard iterator.next() == nil else { throw error("CertificateList has more than three fields") }
        return result
    }

    private static func next(_ iterator: inout ASN1NodeCollection.Iterator) throws -> ASN1Node {
        guard let node = iterator.next() else { throw error("missing field") }
        return node
    }

    private static func algorithm(_ node: ASN1Node) throws -> (ASN1ObjectIdentifier, Bool) {
        guard case .constructed(let parts) = node.content else { throw error("AlgorithmIdentifier") }
        var iterator = parts.makeIterator()
        let oid = try ASN1ObjectIdentifier(derEncoded: try next(&iterator))
        let parameters = iterator.next()
        return (oid, parameters?.identifier == .null)
    }

    private static func time(_ node: ASN1Node) throws -> Time {
        var components = DateComponents()
        let isUTCTime: Bool
        switch node.identifier {
        case .utcTime:
            let time = try UTCTime(derEncoded: node)
            components = DateComponents(
                year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
            isUTCTime = true
        case .generalizedTime:
            let time = try GeneralizedTime(derEncoded: node)
            components = DateComponents(
                year: time.year, month: time.month, day: time.day, hour: time.hours, minute: time.minutes, second: time.seconds)
            isUTCTime = false
        default:
            throw error("a Time is neither UTCTime nor GeneralizedTime")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: components) else { throw error("invalid time") }
        return Time(isUTCTime: isUTCTime, date: date)
    }

    private static func error(_ reason: String) -> ASN1Error {
        ASN1Error.invalidASN1Object(reason: reason)
    }
}
