/// A certs-only ("degenerate") SignedData: no signers, just certificates and
/// CRLs. Used for GetCACert with an RA, and inside a SUCCESS CertRep.
public enum DegenerateSignedData {
    /// Encodes the ContentInfo. `certificates` and `crls` are DER and kept in
    /// order: many clients take the first certificate as theirs.
    public static func encode(certificates: [[UInt8]], crls: [[UInt8]] = []) throws -> [UInt8] {
        var fields = [
            DERTag.tlv(DERTag.integer, [1]),  // version
            DERTag.tlv(DERTag.set),  // digestAlgorithms
            DERTag.tlv(DERTag.sequence, DERTag.tlv(DERTag.objectIdentifier, CMSObject.data)),
        ]
        if !certificates.isEmpty { fields.append(DERTag.tlv(DERTag.context(0), joining: certificates)) }
        if !crls.isEmpty { fields.append(DERTag.tlv(DERTag.context(1), joining: crls)) }
        fields.append(DERTag.tlv(DERTag.set))  // signerInfos
        return DERTag.tlv(
            DERTag.sequence, DERTag.tlv(DERTag.objectIdentifier, CMSObject.signedData),
            DERTag.tlv(DERTag.context(0), DERTag.tlv(DERTag.sequence, joining: fields)))
    }
}
