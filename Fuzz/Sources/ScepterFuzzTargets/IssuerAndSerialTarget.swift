import ScepterProtocol
import X509
import SwiftASN1

/// The contents of CertPoll (IssuerAndSubject), GetCert and GetCRL
/// (IssuerAndSerialNumber): each input goes through both decoders.
enum IssuerAndSerialTarget {
    static func run(_ bytes: [UInt8]) {
        if let value = try? IssuerAndSerial(derEncoded: bytes) {
            _ = (value.issuer.description.count, value.serialNumber.hexString.count)
        }
        if let value = try? IssuerAndSubject(derEncoded: bytes) {
            _ = (value.issuer.description.count, value.subject.description.count)
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        [(name: "issuer-and-subject.der", bytes: try SeedContent.issuerAndSubject()),
         (name: "issuer-and-serial.der", bytes: try SeedContent.issuerAndSerial())]
    }
}
