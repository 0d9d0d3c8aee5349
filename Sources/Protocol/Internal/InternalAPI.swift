import Foundation
import SwiftASN1
import X509

/// The edge ↔ control plane HTTP API (SPEC §3, §8 "Internal"): paths, the
/// bearer token header and the JSON both sides speak. Byte strings travel as
/// standard base64; times as milliseconds since 1970.
public enum InternalAPI {
    /// `POST`: an `EnrollmentRequest`; answers a `Decision`.
    public static let enrollmentsPath = "/internal/v1/enrollments"

    /// `GET`: the recorded `Decision` of a transaction; 404 when unknown.
    public static func enrollmentPath(profile: String, transactionID: String) -> String {
        "\(enrollmentsPath)/\(escape(profile))/\(escape(transactionID))"
    }

    /// `GET`: an `IssuedCertificate` of this profile; 404 when unknown.
    public static func certificatePath(profile: String, serialNumber: String) -> String {
        "/internal/v1/certificates/\(escape(profile))/\(escape(serialNumber))"
    }

    /// `GET`: the profile's `CACertificates`.
    public static func caPath(profile: String) -> String { "/internal/v1/profiles/\(escape(profile))/ca" }

    /// `GET`: a current CRL (DER, `application/pkix-crl`): that of the CA a
    /// GetCRL's `IssuerAndSerialNumber` names (`Issuance.crl`), its DER sent
    /// as `?issuerAndSerial=` in unpadded base64url; 404 when the profile may
    /// answer for no CA of that name. Without it, the profile's current
    /// issuer's (what edges that predate the parameter ask for).
    package static func crlPath(profile: String, naming requestDER: [UInt8]? = nil) -> String {
        let path = "/internal/v1/profiles/\(escape(profile))/crl"
        guard let requestDER else { return path }
        return path + "?\(crlRequestParameter)=" + Base64URL.encode(requestDER)
    }

    /// The query parameter of `crlPath` carrying the GetCRL's `IssuerAndSerialNumber`.
    package static let crlRequestParameter = "issuerAndSerial"

    /// The whole body of the control plane's 404 when it holds no such
    /// enrollment or certificate (every release wrote it): an edge tells
    /// that answer from any other 404 (a proxy's, another server's at
    /// `SCEPTER_CONTROL_URL`), which is an outage, not an unknown request.
    package static let notFound = "not found"

    /// In the body of `crlPath`'s 404 when the profile answers for no CA of
    /// the name: an edge tells that answer from any other 404 (a proxy's,
    /// another server's), which is an outage, not an unknown CA.
    package static let unknownCRLIssuer = "answers for no CA of that name"

    /// Largest DER `IssuerAndSerialNumber` `crlPath` carries; the control plane answers 400 to a longer one.
    package static let maxCRLRequestSize = 4096

    /// The `IssuerAndSerialNumber` a `crlPath` query parameter carries, or why it carries none.
    package static func crlRequest(parameter text: String) -> Result<IssuerAndSerial, CRLRequestError> {
        let parameter = crlRequestParameter
        // Base64 holds 3 bytes in 4 characters: anything longer decodes past the bound.
        guard text.utf8.count <= (maxCRLRequestSize + 2) / 3 * 4 else {
            return .failure(CRLRequestError("the \(parameter) parameter is over \(maxCRLRequestSize) bytes of DER"))
        }
        guard !text.isEmpty else { return .failure(CRLRequestError("the \(parameter) parameter is empty")) }
        guard let der = Base64URL.decode(text.utf8[...]) else {
            return .failure(CRLRequestError("the \(parameter) parameter is not base64url"))
        }
        guard der.count <= maxCRLRequestSize else {
            return .failure(CRLRequestError("the \(parameter) parameter is over \(maxCRLRequestSize) bytes of DER"))
        }
        guard let request = try? IssuerAndSerial(derEncoded: DER.parse(der)) else {
            return .failure(CRLRequestError("the \(parameter) parameter is not the DER of an IssuerAndSerialNumber"))
        }
        return .success(request)
    }

    /// Why a `crlPath` parameter was refused (HTTP 400).
    package struct CRLRequestError: Error, Sendable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// Largest request body either side accepts on the internal API.
    public static let maxBodySize = 512 * 1024

    public static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? component
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }

    /// The control plane's answer to an enrollment or a poll, as JSON:
    /// `{"status":"issued","certificate":…,"chain":[…],"serialNumber":…}`,
    /// `{"status":"pending"}` or `{"status":"rejected","outcome":…,"reason":…}`.
    public struct Decision: Sendable, Codable, Hashable {
        public enum Status: String, Sendable, Codable, Hashable {
            case issued, pending, rejected
        }

        public var status: Status
        public var certificate: String?
        public var chain: [String]?
        public var serialNumber: String?
        public var outcome: Outcome?
        public var reason: String?
        /// `IssuedCertificate.details`.
        public var details: String?

        public init(_ decision: EnrollmentDecision) {
            switch decision {
            case .issued(let issued):
                status = .issued
                certificate = Base64.encode(issued.certificate)
                chain = issued.chain.map(Base64.encode)
                serialNumber = issued.serialNumber
                details = issued.details
            case .pending:
                status = .pending
            case .rejected(let refusal):
                status = .rejected
                outcome = refusal.outcome
                reason = refusal.reason
            }
        }

        /// The decision, or nil when the JSON does not describe one.
        public var decision: EnrollmentDecision? {
            switch status {
            case .issued:
                guard let certificate = certificate.flatMap({ Base64.decode($0) }), let serialNumber else { return nil }
                let chain = (self.chain ?? []).compactMap { Base64.decode($0) }
                guard chain.count == (self.chain ?? []).count else { return nil }
                return .issued(IssuedCertificate(certificate: certificate, chain: chain, serialNumber: serialNumber, details: details))
            case .pending:
                return .pending
            case .rejected:
                guard let outcome else { return nil }
                return .rejected(Refusal(outcome, reason ?? ""))
            }
        }
    }
}

/// Byte fields as base64 strings, so a CSR is not a JSON array of numbers.
extension KeyedEncodingContainer {
    mutating func encodeBase64(_ bytes: [UInt8], forKey key: Key) throws {
        try encode(Base64.encode(bytes), forKey: key)
    }
}

extension KeyedDecodingContainer {
    func decodeBase64(forKey key: Key) throws -> [UInt8] {
        let text = try decode(String.self, forKey: key)
        guard let bytes = Base64.decode(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not base64")
        }
        return bytes
    }

    func decodeBase64Array(forKey key: Key) throws -> [[UInt8]] {
        try decode([String].self, forKey: key).map { text in
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not base64")
            }
            return bytes
        }
    }

    func decodeBase64IfPresent(forKey key: Key) throws -> [UInt8]? {
        try contains(key) && !decodeNil(forKey: key) ? decodeBase64(forKey: key) : nil
    }
}

extension EnrollmentRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case profile, transactionID, messageType, csr, signerCertificate, claim, gates, challenge, edgeID, sourceAddress
        case auditEventID, auditEventTime, csrSubject, csrSANs
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            profile: try container.decode(String.self, forKey: .profile),
            transactionID: try container.decode(String.self, forKey: .transactionID),
            messageType: try container.decode(MessageType.self, forKey: .messageType),
            csr: try container.decodeBase64(forKey: .csr),
            signerCertificate: try container.decodeBase64(forKey: .signerCertificate),
            claim: try container.decodeIfPresent(ClaimSummary.self, forKey: .claim),
            gates: try container.decode([String].self, forKey: .gates),
            challenge: try container.decodeIfPresent(ChallengeCheck.self, forKey: .challenge),
            edgeID: try container.decode(String.self, forKey: .edgeID),
            sourceAddress: try container.decodeIfPresent(String.self, forKey: .sourceAddress),
            auditEventID: try container.decodeIfPresent(String.self, forKey: .auditEventID),
            auditEventTime: try container.decodeIfPresent(Date.self, forKey: .auditEventTime),
            csrSubject: try container.decodeIfPresent(String.self, forKey: .csrSubject),
            csrSANs: try container.decodeIfPresent(String.self, forKey: .csrSANs))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(profile, forKey: .profile)
        try container.encode(transactionID, forKey: .transactionID)
        try container.encode(messageType, forKey: .messageType)
        try container.encodeBase64(csr, forKey: .csr)
        try container.encodeBase64(signerCertificate, forKey: .signerCertificate)
        try container.encodeIfPresent(claim, forKey: .claim)
        try container.encode(gates, forKey: .gates)
        try container.encodeIfPresent(challenge, forKey: .challenge)
        try container.encode(edgeID, forKey: .edgeID)
        try container.encodeIfPresent(sourceAddress, forKey: .sourceAddress)
        try container.encodeIfPresent(auditEventID, forKey: .auditEventID)
        try container.encodeIfPresent(auditEventTime, forKey: .auditEventTime)
        try container.encodeIfPresent(csrSubject, forKey: .csrSubject)
        try container.encodeIfPresent(csrSANs, forKey: .csrSANs)
    }
}

extension IssuedCertificate: Codable {
    enum CodingKeys: String, CodingKey { case certificate, chain, serialNumber, details }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            certificate: try container.decodeBase64(forKey: .certificate), chain: try container.decodeBase64Array(forKey: .chain),
            serialNumber: try container.decode(String.self, forKey: .serialNumber),
            details: try container.decodeIfPresent(String.self, forKey: .details))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeBase64(certificate, forKey: .certificate)
        try container.encode(chain.map(Base64.encode), forKey: .chain)
        try container.encode(serialNumber, forKey: .serialNumber)
        try container.encodeIfPresent(details, forKey: .details)
    }
}

extension CACertificates: Codable {
    enum CodingKeys: String, CodingKey { case issuer, intermediates, next }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            issuer: try container.decodeBase64(forKey: .issuer),
            intermediates: try container.decodeBase64Array(forKey: .intermediates),
            next: try container.decodeBase64IfPresent(forKey: .next))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeBase64(issuer, forKey: .issuer)
        try container.encode(intermediates.map(Base64.encode), forKey: .intermediates)
        try container.encodeIfPresent(next.map(Base64.encode), forKey: .next)
    }
}
