/// The GetCACaps answer (RFC 8894 §3.5.2).
public struct CACapabilities: Sendable {
    /// Whether GetNextCACert is offered (a next CA is configured).
    public var nextCACertificate: Bool

    public init(nextCACertificate: Bool = false) {
        self.nextCACertificate = nextCACertificate
    }

    public var keywords: [String] {
        var keywords = ["POSTPKIOperation", "SHA-256", "SHA-512", "AES", "DES3", "SCEPStandard", "Renewal"]
        if nextCACertificate { keywords.append("GetNextCACert") }
        return keywords
    }

    /// One keyword per line, as clients expect.
    public var body: String { keywords.joined(separator: "\n") + "\n" }
}
