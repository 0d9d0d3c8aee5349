import Foundation
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import X509

/// The contents that go into seed requests: CSRs, IssuerAndSubject, IssuerAndSerial.
enum SeedContent {
    /// The fixtures' CSRs and CSRs made in code with each key type.
    static func csrs() throws -> [(name: String, bytes: [UInt8])] {
        var csrs: [(String, [UInt8])] = []
        for name in ["csr-full", "csr-ec", "csr-plain", "csr-sha1"] {
            csrs.append((name, try Array(Data(contentsOf: FuzzFixtures.directory.appendingPathComponent("\(name).der")))))
        }
        let p256 = try TestPKI.makeLeaf(commonName: "LAPTOP-0042", key: .p256)
        csrs.append((
            "intune-p256",
            try TestPKI.makeCSR(
                commonName: "LAPTOP-0042", challenge: "s3cret-challenge", dnsNames: ["laptop-0042.corp.example"], emails: ["alice@corp.example"],
                upns: ["alice@corp.example"], uris: ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500"], ekus: [.clientAuth],
                key: p256.privateKey)
        ))
        return csrs.map { (name: $0.0, bytes: $0.1) }
    }

    static func issuerAndSubject() throws -> [UInt8] {
        let issuer = try DistinguishedName { CommonName("Scepter Fixture CA") }
        let subject = try DistinguishedName {
            OrganizationName("Scepter Fixtures")
            CommonName("device-1")
        }
        return try serialize(IssuerAndSubject(issuer: issuer, subject: subject))
    }

    static func issuerAndSerial() throws -> [UInt8] {
        let issuer = try DistinguishedName { CommonName("Scepter Fixture CA") }
        return try serialize(IssuerAndSerial(issuer: issuer, serialNumber: Certificate.SerialNumber(bytes: [0x00, 0x9f, 0x10, 0x03])))
    }

    static func serialize(_ value: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }
}
