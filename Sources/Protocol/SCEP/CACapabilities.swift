/// The GetCACaps answer (RFC 8894 §3.5.2).
public struct CACapabilities: Sendable {
    /// Whether GetNextCACert is offered (a next CA is configured).
    public var nextCACertificate: Bool

    public init(nextCACertificate: Bool = false) {
        self.nextCACertificate = nextCACertificate
    }

    /// Every digest Scepter accepts is listed (SHA-1 is accepted but not
    /// advertised: a client that reads the list should pick a stronger one).
    /// SHA-384 matters beyond itself: strongSwan 5.9 reads capabilities by
    /// list position and uses AES only when SHA-384 is present.
    public var keywords: [String] {
        var keywords = ["POSTPKIOperation", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "AES", "DES3", "SCEPStandard", "Renewal"]
        if nextCACertificate { keywords.append("GetNextCACert") }
        return keywords
    }

    /// One keyword per line, as clients expect.
    public var body: String { keywords.joined(separator: "\n") + "\n" }
}
