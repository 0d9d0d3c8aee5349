/// A SignedData over arbitrary content, signed by the RA without SCEP
/// attributes (used for GetNextCACert).
public enum RASignedData {
    public static func sign(_ content: [UInt8], ra: RAIdentity, digest: DigestAlgorithm = .sha256) throws -> [UInt8] {
        try CMSCodec.sign(content, certificate: ra.signing.openSSLCertificate, key: ra.signing.key, digest: digest, attributes: [])
    }
}
