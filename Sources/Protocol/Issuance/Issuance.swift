import Foundation

/// How an edge reaches the issuers: the control plane in process (embedded
/// mode) or over the internal HTTP API (cluster). Every method throws only
/// when the control plane cannot be reached; the edge then answers 503.
public protocol Issuance: Sendable {
    /// Submits a PKCSReq or RenewalReq that passed the edge's gates.
    /// Idempotent on (profile, transactionID): a retry gets the first answer
    /// and never a second certificate.
    func enroll(_ request: EnrollmentRequest) async throws -> EnrollmentDecision

    /// The current answer for a transaction (CertPoll); nil when unknown.
    func poll(profile: String, transactionID: String) async throws -> EnrollmentDecision?

    /// A certificate this profile issued (GetCert); nil when unknown.
    func certificate(profile: String, serialNumber: String) async throws -> IssuedCertificate?

    /// A current CRL, DER (GetCRL): that of the CA `request` names (RFC 8894
    /// §3.3.4), names compared as RFC 5280 §7.1 compares them. nil when the
    /// profile may answer for no CA of that name. With `request` nil, the
    /// profile's current issuer's.
    func crl(profile: String, naming request: IssuerAndSerial?) async throws -> [UInt8]?

    /// The profile's CA chain for GetCACert/GetNextCACert.
    func caCertificates(profile: String) async throws -> CACertificates
}

/// An enrollment job from an edge (SPEC §3 step 4).
public struct EnrollmentRequest: Sendable {
    public var profile: String
    public var transactionID: String
    public var messageType: MessageType
    /// DER of the PKCS#10 request.
    public var csr: [UInt8] { didSet { parsedCSR = nil } }
    /// The edge's parse of exactly `csr`, self-signature verified, for a
    /// control plane in the same process (embedded mode): it need not parse
    /// the request again. Never sent over the internal API, so a control
    /// plane behind one parses `csr` itself; nil again once `csr` changes.
    public private(set) var parsedCSR: CertificationRequest?
    /// DER of the certificate that signed the PKIMessage.
    public var signerCertificate: [UInt8]
    /// The validated Intune claim, when the challenge was one.
    public var claim: ClaimSummary?
    /// Which gates passed, in order, e.g. `["message", "challenge:static"]`.
    public var gates: [String]
    /// How the edge checked a PKCSReq's challenge; nil for renewals. With
    /// `.intuneAPI` the control plane asks Intune before it issues (the
    /// challenge travels inside the CSR, which Intune takes whole).
    public var challenge: ChallengeCheck?
    public var edgeID: String
    public var sourceAddress: String?
    /// The id of the audit event the edge will write for this PKIOperation.
    /// The control plane commits a provisional audit row under this id with
    /// the certificate; the edge's event replaces it.
    public var auditEventID: String?
    /// That event's time, so the provisional row already carries it: when
    /// the edge's event then replaces the row, no indexed column changes.
    public var auditEventTime: Date?
    /// What the edge recorded about the request, for that provisional row.
    public var csrSubject: String?
    public var csrSANs: String?

    public init(
        profile: String, transactionID: String, messageType: MessageType, csr: [UInt8], signerCertificate: [UInt8],
        claim: ClaimSummary? = nil, gates: [String], challenge: ChallengeCheck? = nil, edgeID: String, sourceAddress: String?,
        auditEventID: String? = nil, auditEventTime: Date? = nil, csrSubject: String? = nil, csrSANs: String? = nil,
        parsedCSR: CertificationRequest? = nil
    ) {
        precondition(parsedCSR.map { $0.derEncoded == csr } ?? true, "parsedCSR must be the parse of csr")
        self.parsedCSR = parsedCSR
        self.profile = profile
        self.transactionID = transactionID
        self.messageType = messageType
        self.csr = csr
        self.signerCertificate = signerCertificate
        self.claim = claim
        self.gates = gates
        self.challenge = challenge
        self.edgeID = edgeID
        self.sourceAddress = sourceAddress
        self.auditEventID = auditEventID
        self.auditEventTime = auditEventTime
        self.csrSubject = csrSubject
        self.csrSANs = csrSANs
    }
}

/// How an edge checked a PKCSReq's challenge password.
public enum ChallengeCheck: String, Sendable, Codable, Hashable {
    /// The profile's static password matched.
    case staticPassword = "static"
    /// A Connector-signed challenge passed gates 2–9 at the edge.
    case signedChallenge = "signed-challenge"
    /// An opaque Intune challenge: only Intune's validateRequest can judge it.
    case intuneAPI = "intune-api"
}

/// The claim fields the control plane records with a certificate.
public struct ClaimSummary: Sendable, Codable, Hashable {
    public var subject: String
    public var issuer: String
    public var deviceName: String?

    public init(subject: String, issuer: String, deviceName: String?) {
        self.subject = subject
        self.issuer = issuer
        self.deviceName = deviceName
    }
}

/// The control plane's answer to an enrollment.
public enum EnrollmentDecision: Sendable, Hashable {
    case issued(IssuedCertificate)
    case pending
    case rejected(Refusal)
}

/// An issued certificate with the chain that goes back to the device.
public struct IssuedCertificate: Sendable, Hashable {
    /// DER of the certificate.
    public var certificate: [UInt8]
    /// DER of the issuing CA and any intermediates above it, nearest first.
    public var chain: [[UInt8]]
    /// Lowercase hex serial number.
    public var serialNumber: String
    /// What the control plane did beyond signing (e.g. the Intune calls and
    /// their client-request-ids), for the audit record; nil when nothing.
    public var details: String?

    public init(certificate: [UInt8], chain: [[UInt8]], serialNumber: String, details: String? = nil) {
        self.certificate = certificate
        self.chain = chain
        self.serialNumber = serialNumber
        self.details = details
    }
}

/// What GetCACert and GetNextCACert publish for a profile.
public struct CACertificates: Sendable, Hashable {
    /// DER of the issuing CA certificate.
    public var issuer: [UInt8]
    /// DER of intermediates above the issuer, nearest first (not the root's self-signature twice).
    public var intermediates: [[UInt8]]
    /// DER of the next CA (rollover), when configured.
    public var next: [UInt8]?

    public init(issuer: [UInt8], intermediates: [[UInt8]] = [], next: [UInt8]? = nil) {
        self.issuer = issuer
        self.intermediates = intermediates
        self.next = next
    }
}

/// Thrown by an `Issuance` when the control plane cannot be reached or
/// cannot answer now; the edge answers HTTP 503 with Retry-After.
public struct IssuanceUnavailable: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
