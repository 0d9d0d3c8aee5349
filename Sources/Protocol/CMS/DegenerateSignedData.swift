import SwiftASN1

/// A certs-only ("degenerate") SignedData: no signers, just certificates and
/// CRLs. Used for GetCACert with an RA, and inside a SUCCESS CertRep.
public enum DegenerateSignedData {
    static let signedDataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 2]
    static let dataOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 7, 1]

    /// Encodes the ContentInfo. `certificates` and `crls` are DER and kept in
    /// order: many clients take the first certificate as theirs.
    public static func encode(certificates: [[UInt8]], crls: [[UInt8]] = []) throws -> [UInt8] {
        var coder = DER.Serializer()
        try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(signedDataOID)
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(1)  // version
                    coder.appendConstructedNode(identifier: .set) { _ in }  // digestAlgorithms
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(dataOID)
                    }
                    if !certificates.isEmpty {
                        coder.appendConstructedNode(
                            identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
                        ) { coder in
                            for certificate in certificates {
                                coder.serializeRawBytes(certificate)
                            }
                        }
                    }
                    if !crls.isEmpty {
                        coder.appendConstructedNode(
                            identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
                        ) { coder in
                            for crl in crls {
                                coder.serializeRawBytes(crl)
                            }
                        }
                    }
                    coder.appendConstructedNode(identifier: .set) { _ in }  // signerInfos
                }
            }
        }
        return coder.serializedBytes
    }
}
