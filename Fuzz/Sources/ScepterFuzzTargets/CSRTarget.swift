import ScepterProtocol

/// A PKCS#10 request as the envelope delivers it: `CertificationRequest`
/// (swift-certificates parse, the stand-in algorithm copy, SET re-sorting,
/// the self-signature by swift-crypto or OpenSSL, SANs, challengePassword),
/// and again as the control plane reads it behind an edge that verified it.
enum CSRTarget {
    static func run(_ bytes: [UInt8]) {
        if let csr = try? CertificationRequest(derEncoded: bytes) { Inspect.request(csr) }
        if let csr = try? CertificationRequest(derEncoded: bytes, selfSignatureVerified: true) { Inspect.request(csr) }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        try SeedContent.csrs().map { (name: $0.name + ".der", bytes: $0.bytes) }
    }
}
