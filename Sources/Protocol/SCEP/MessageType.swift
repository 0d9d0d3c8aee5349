/// SCEP messageType values (RFC 8894 §3.2.1.2).
public enum MessageType: Int, Sendable, Codable, CaseIterable {
    case certRep = 3
    case renewalReq = 17
    case pkcsReq = 19
    /// GetCertInitial in older drafts.
    case certPoll = 20
    case getCert = 21
    case getCRL = 22

    public var name: String {
        switch self {
        case .certRep: "CertRep"
        case .renewalReq: "RenewalReq"
        case .pkcsReq: "PKCSReq"
        case .certPoll: "CertPoll"
        case .getCert: "GetCert"
        case .getCRL: "GetCRL"
        }
    }
}

/// SCEP pkiStatus values.
public enum PKIStatus: Int, Sendable, Codable {
    case success = 0
    case failure = 2
    case pending = 3
}

/// The SCEP HTTP operations (RFC 8894 §4).
public enum Operation: String, Sendable, CaseIterable {
    case getCACaps = "GetCACaps"
    case getCACert = "GetCACert"
    case getNextCACert = "GetNextCACert"
    case pkiOperation = "PKIOperation"

    /// Matches the `operation` query value; clients differ in case.
    public init?(query: String) {
        let lowered = query.lowercased()
        guard let match = Operation.allCases.first(where: { $0.rawValue.lowercased() == lowered }) else {
            return nil
        }
        self = match
    }
}
