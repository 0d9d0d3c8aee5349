import ScepterProtocol

/// The GetNextCACert answer: the next CA in a degenerate certs-only
/// SignedData, wrapped in a SignedData signed by the RA (RFC 8894 §4.7).
enum NextCACertificate {
    static func encode(next: [UInt8], ra: RAIdentity) throws -> [UInt8] {
        let degenerate = try DegenerateSignedData.encode(certificates: [next])
        return try RASignedData.sign(degenerate, ra: ra)
    }
}
