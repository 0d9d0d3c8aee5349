import SwiftASN1
import X509

/// `IssuerAndSerialNumber`, the content of GetCert and GetCRL requests.
public struct IssuerAndSerial: Sendable, Hashable, DERImplicitlyTaggable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var issuer: DistinguishedName
    public var serialNumber: Certificate.SerialNumber

    public init(issuer: DistinguishedName, serialNumber: Certificate.SerialNumber) {
        self.issuer = issuer
        self.serialNumber = serialNumber
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let issuer = try DistinguishedName.read(&nodes)
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            return IssuerAndSerial(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: serial))
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try issuer.serialize(into: &coder)
            try coder.serialize(ArraySlice(serialNumber.bytes))
        }
    }
}

/// `IssuerAndSubject`, the content of CertPoll (GetCertInitial) requests.
public struct IssuerAndSubject: Sendable, Hashable, DERImplicitlyTaggable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var issuer: DistinguishedName
    public var subject: DistinguishedName

    public init(issuer: DistinguishedName, subject: DistinguishedName) {
        self.issuer = issuer
        self.subject = subject
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let issuer = try DistinguishedName.read(&nodes)
            let subject = try DistinguishedName.read(&nodes)
            return IssuerAndSubject(issuer: issuer, subject: subject)
        }
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try issuer.serialize(into: &coder)
            try subject.serialize(into: &coder)
        }
    }
}

extension Certificate.SerialNumber {
    /// Lowercase hex without leading zero bytes, as stored and shown by Scepter.
    public var hexString: String {
        var bytes = ArraySlice(self.bytes)
        while bytes.count > 1, bytes.first == 0 { bytes = bytes.dropFirst() }
        return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension DistinguishedName {
    fileprivate static func read(_ nodes: inout ASN1NodeCollection.Iterator) throws -> DistinguishedName {
        guard let node = nodes.next() else {
            throw ASN1Error.invalidASN1Object(reason: "missing distinguished name")
        }
        return try DistinguishedName(derEncoded: node)
    }
}
