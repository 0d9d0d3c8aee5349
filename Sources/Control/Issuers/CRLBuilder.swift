import Foundation
import SwiftASN1
import X509
import ScepterProtocol

/// Builds and signs an X.509 v2 CRL (RFC 5280 §5) for a local CA.
enum CRLBuilder {
    static func build(
        ca: LocalCA, revoked: [RevocationEntry], crlNumber: UInt64, now: Date,
        nextUpdate: Duration = .seconds(7 * 86400)
    ) throws -> [UInt8] {
        let algorithm = ca.signatureAlgorithm
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try writeAlgorithm(algorithm, into: &coder)
            try ca.certificate.subject.serialize(into: &coder)
            try writeTime(now, into: &coder)
            try writeTime(now.addingTimeInterval(nextUpdate.timeInterval), into: &coder)
            if !revoked.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    for entry in revoked {
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            coder.serializeRawBytes(Self.integer(hex: entry.serialNumber))
                            try writeTime(entry.revokedAt, into: &coder)
                            try writeEntryExtensions(entry, into: &coder)
                        }
                    }
                }
            }
            try coder.serialize(
                explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific
            ) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    // authorityKeyIdentifier
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(ASN1ObjectIdentifier.X509ExtensionID.authorityKeyIdentifier)
                        var aki = DER.Serializer()
                        try aki.appendConstructedNode(identifier: .sequence) { coder in
                            try ASN1OctetString(contentBytes: ca.authorityKeyIdentifier).serialize(
                                into: &coder, withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
                        }
                        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(aki.serializedBytes)))
                    }
                    // cRLNumber
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(([2, 5, 29, 20] as ASN1ObjectIdentifier))
                        var number = DER.Serializer()
                        try number.serialize(Int64(clamping: crlNumber))
                        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(number.serializedBytes)))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try ca.privateKey.sign(bytes: tbsBytes, signatureAlgorithm: algorithm)
        var crl = DER.Serializer()
        try crl.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try writeAlgorithm(algorithm, into: &coder)
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature.rawRepresentation)))
        }
        return crl.serializedBytes
    }

    /// reasonCode (omitted for unspecified, RFC 5280 §5.3.1) and invalidityDate (§5.3.2).
    private static func writeEntryExtensions(_ entry: RevocationEntry, into coder: inout DER.Serializer) throws {
        guard entry.reason != .unspecified || entry.invalidityDate != nil else { return }
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            if entry.reason != .unspecified {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(([2, 5, 29, 21] as ASN1ObjectIdentifier))
                    // ENUMERATED: tag 10, one content byte (codes are 0–10).
                    try coder.serialize(ASN1OctetString(contentBytes: [0x0A, 0x01, UInt8(entry.reason.code)]))
                }
            }
            if let invalidity = entry.invalidityDate {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(([2, 5, 29, 24] as ASN1ObjectIdentifier))
                    var time = DER.Serializer()
                    let parts = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: invalidity)
                    try time.serialize(
                        try GeneralizedTime(
                            year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, hours: parts.hour ?? 0,
                            minutes: parts.minute ?? 0, seconds: parts.second ?? 0, fractionalSeconds: 0))
                    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(time.serializedBytes)))
                }
            }
        }
    }

    private static func writeAlgorithm(_ algorithm: Certificate.SignatureAlgorithm, into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            switch algorithm {
            case .ecdsaWithSHA256: try coder.serialize(([1, 2, 840, 10045, 4, 3, 2] as ASN1ObjectIdentifier))
            case .ecdsaWithSHA384: try coder.serialize(([1, 2, 840, 10045, 4, 3, 3] as ASN1ObjectIdentifier))
            case .ecdsaWithSHA512: try coder.serialize(([1, 2, 840, 10045, 4, 3, 4] as ASN1ObjectIdentifier))
            default:
                try coder.serialize(([1, 2, 840, 113549, 1, 1, 11] as ASN1ObjectIdentifier))
                try coder.serialize(ASN1Null())
            }
        }
    }

    /// RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050.
    static func writeTime(_ date: Date, into coder: inout DER.Serializer) throws {
        let parts = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let (year, month, day) = (parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
        let (hours, minutes, seconds) = (parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        if (1950...2049).contains(year) {
            try coder.serialize(
                try UTCTime(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds))
        } else {
            try coder.serialize(
                try GeneralizedTime(
                    year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds, fractionalSeconds: 0))
        }
    }

    /// DER INTEGER from a hex serial (positive).
    static func integer(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var digits = Array(hex.utf8)
        if digits.count % 2 == 1 { digits.insert(UInt8(ascii: "0"), at: 0) }
        for index in stride(from: 0, to: digits.count, by: 2) {
            bytes.append(UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) ?? 0)
        }
        if let first = bytes.first, first & 0x80 != 0 { bytes.insert(0, at: 0) }
        return [0x02, UInt8(bytes.count)] + bytes
    }
}

extension Calendar {
    /// Gregorian in UTC, for ASN.1 times.
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
