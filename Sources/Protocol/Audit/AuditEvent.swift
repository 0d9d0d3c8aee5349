import Foundation

/// What an audit record is about: a SCEP request or an admin action.
public enum AuditOperation: String, Sendable, Codable, Hashable, CaseIterable {
    case getCACaps = "GetCACaps"
    case getCACert = "GetCACert"
    case getNextCACert = "GetNextCACert"
    case pkiOperation = "PKIOperation"
    /// A cluster-wide trust-anchor reload an admin asked for.
    case reloadTrust = "reload-trust"
    /// A revocation Intune asked for (device wiped, retired, profile removed).
    case intuneRevocation = "intune-revocation"
    /// A revocation an admin asked for through the API.
    case revoke
}

/// One audit record: every PKIOperation yields exactly one (SPEC §7).
public struct AuditEvent: Sendable, Codable, Hashable {
    /// Unique id; inserts are idempotent on it.
    public var id: String
    public var time: Date
    public var edgeID: String
    public var sourceAddress: String?
    public var profile: String
    public var operation: AuditOperation
    public var messageType: String?
    public var transactionID: String?
    public var outcome: Outcome
    public var failInfo: String?
    public var claimSubject: String?
    public var claimIssuer: String?
    public var deviceName: String?
    public var csrSubject: String?
    public var csrSANs: String?
    public var serialNumber: String?
    public var latencyMilliseconds: Double
    /// The precise reason, for the operator (never sent to the client).
    public var details: String

    public init(
        id: String? = nil, time: Date, edgeID: String, sourceAddress: String?, profile: String,
        operation: AuditOperation, messageType: String? = nil, transactionID: String? = nil, outcome: Outcome,
        failInfo: String? = nil, claimSubject: String? = nil, claimIssuer: String? = nil, deviceName: String? = nil,
        csrSubject: String? = nil, csrSANs: String? = nil, serialNumber: String? = nil, latencyMilliseconds: Double,
        details: String
    ) {
        self.id = id ?? SystemRandom.identifier()
        self.time = time
        self.edgeID = edgeID
        self.sourceAddress = sourceAddress
        self.profile = profile
        self.operation = operation
        self.messageType = messageType
        self.transactionID = transactionID
        self.outcome = outcome
        self.failInfo = failInfo
        self.claimSubject = claimSubject
        self.claimIssuer = claimIssuer
        self.deviceName = deviceName
        self.csrSubject = csrSubject
        self.csrSANs = csrSANs
        self.serialNumber = serialNumber
        self.latencyMilliseconds = latencyMilliseconds
        self.details = details
    }
}

/// Where edges write audit events: the store in process (embedded mode) or a
/// Redis stream (cluster). `record` returns once the event is durable enough
/// to survive the edge crashing; it throws when it is not.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent) async throws
}

extension AuditEvent {
    /// The event as the edges write it to the audit stream and the control
    /// plane reads it back: the coding keys above, `time` in milliseconds
    /// since 1970, keys sorted, absent optionals omitted.
    public func jsonEncoded() throws -> [UInt8] {
        Array(try InternalAPI.encoder().encode(self))
    }

    /// Reads an event written by `jsonEncoded()`.
    public init(json: [UInt8]) throws {
        self = try InternalAPI.decoder().decode(AuditEvent.self, from: Data(json))
    }
}
