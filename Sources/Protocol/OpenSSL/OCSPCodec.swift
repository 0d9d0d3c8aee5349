import COpenSSL
import Foundation

/// OCSP (RFC 6960, profiled by RFC 5019) over OpenSSL's OCSP API: reading
/// requests and signing basic responses. The only place OCSP pointers live.
public enum OCSP {
    /// What a responder says of one certificate.
    public enum CertStatus: Sendable, Hashable {
        case good
        /// `reason`: the CRLReason code, nil to leave it out.
        case revoked(at: Date, reason: Int?)
        case unknown
    }

    /// The OCSPResponseStatus of a response without answers.
    public enum Failure: Int32, Sendable, Error {
        case malformedRequest = 1
        case internalError = 2
        case tryLater = 3
        case unauthorized = 6
    }

    /// One certificate a request asks about.
    public struct Question: Sendable, Hashable {
        /// Lowercase hex without leading zero bytes, as the inventory keys serials.
        public var serialNumber: String
        /// DER of the CertID: identifies the question in a cache.
        public var certID: [UInt8]
    }

    /// An OCSP responder's signing identity: a delegated responder
    /// certificate (or the CA itself) and its private key, any key type.
    public struct Signer: Sendable {
        public let certificate: [UInt8]
        let openSSLCertificate: OpenSSLCertificate
        let key: OpenSSLKey

        public init(certificateDER: [UInt8], keyPEM: String) throws {
            OpenSSL.initialize()
            openSSLCertificate = try OpenSSLCertificate(derEncoded: certificateDER)
            key = try OpenSSLKey(privateKeyPEM: keyPEM)
            guard openSSLCertificate.matches(key) else {
                _ = OpenSSL.drainErrors()
                throw OpenSSL.Failure("the OCSP signing key does not belong to its certificate")
            }
            certificate = certificateDER
        }
    }

    /// A CA certificate questions are matched against, parsed once.
    public struct Issuer: Sendable {
        let certificate: OpenSSLCertificate

        public init(certificateDER: [UInt8]) throws {
            OpenSSL.initialize()
            certificate = try OpenSSLCertificate(derEncoded: certificateDER)
        }
    }

    /// A parsed OCSPRequest.
    public final class Request: @unchecked Sendable {
        // @unchecked: the request is never mutated after parsing; OpenSSL only reads it.
        let pointer: OpaquePointer
        public let questions: [Question]
        public let hasNonce: Bool

        /// Parses DER; `.malformedRequest` when it is not an OCSPRequest with at least one question.
        public init(der: [UInt8]) throws(Failure) {
            OpenSSL.initialize()
            let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
                var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
                return d2i_OCSP_REQUEST(nil, &cursor, buffer.count)
            }
            guard let parsed else {
                _ = OpenSSL.drainErrors()
                throw .malformedRequest
            }
            pointer = parsed
            let count = OCSP_request_onereq_count(parsed)
            var questions: [Question] = []
            for index in 0..<max(0, count) {
                guard let one = OCSP_request_onereq_get0(parsed, index), let certID = OCSP_onereq_get0_id(one) else { continue }
                var serial: UnsafeMutablePointer<ASN1_INTEGER>?
                guard OCSP_id_get0_info(nil, nil, nil, &serial, certID) == 1, let serial,
                    let encoded = try? OpenSSL.encode({ i2d_OCSP_CERTID(certID, $0) }, what: "a CertID")
                else { continue }
                questions.append(Question(serialNumber: Self.hex(serial), certID: encoded))
            }
            // An OCSPRequest without a question, or one with a question OpenSSL could not read, is malformed.
            guard count > 0, questions.count == count, count <= 32 else {
                OCSP_REQUEST_free(parsed)
                throw .malformedRequest
            }
            self.questions = questions
            hasNonce = OCSP_REQUEST_get_ext_by_NID(parsed, NID_id_pkix_OCSP_Nonce, -1) >= 0
        }

        deinit { OCSP_REQUEST_free(pointer) }

        /// Whether every question names the CA `issuer` (DER certificate) by
        /// its name and key hashes, in SHA-1 or SHA-256.
        public func isFor(_ issuer: Issuer) -> Bool {
            let ca = issuer.certificate
            for index in 0..<OCSP_request_onereq_count(pointer) {
                guard let one = OCSP_request_onereq_get0(pointer, index), let asked = OCSP_onereq_get0_id(one) else { return false }
                var algorithm: OpaquePointer?
                guard OCSP_id_get0_info(nil, &algorithm, nil, nil, asked) == 1, let algorithm else { return false }
                let digest: OpaquePointer? =
                    switch OBJ_obj2nid(algorithm) {
                    case NID_sha1: EVP_sha1()
                    case NID_sha256: EVP_sha256()
                    case NID_sha384: EVP_sha384()
                    case NID_sha512: EVP_sha512()
                    default: nil
                    }
                guard let digest, let ours = OCSP_cert_to_id(digest, nil, ca.pointer) else { return false }
                defer { OCSP_CERTID_free(ours) }
                guard OCSP_id_issuer_cmp(ours, asked) == 0 else { return false }
            }
            return true
        }

        /// DER INTEGER content as lowercase hex without leading zero bytes.
        private static func hex(_ integer: UnsafeMutablePointer<ASN1_INTEGER>) -> String {
            let length = Int(ASN1_STRING_length(integer))
            guard length > 0, let data = ASN1_STRING_get0_data(integer) else { return "0" }
            var bytes = Array(UnsafeBufferPointer(start: data, count: length))
            while bytes.count > 1, bytes.first == 0 { bytes.removeFirst() }
            return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }

    /// A signed, successful response answering each question with `statuses`
    /// (same order), the request's nonce echoed when it had one.
    public static func response(
        answering request: Request, statuses: [CertStatus], signer: Signer, thisUpdate: Date, nextUpdate: Date
    ) throws -> [UInt8] {
        guard statuses.count == request.questions.count else { throw OpenSSL.Failure("one status per question") }
        guard let basic = OCSP_BASICRESP_new() else { throw OpenSSL.Failure("allocating an OCSP response") }
        defer { OCSP_BASICRESP_free(basic) }
        let this = ASN1_TIME_set(nil, time_t(thisUpdate.timeIntervalSince1970))
        let next = ASN1_TIME_set(nil, time_t(nextUpdate.timeIntervalSince1970))
        defer {
            ASN1_TIME_free(this)
            ASN1_TIME_free(next)
        }
        for (index, status) in statuses.enumerated() {
            guard let one = OCSP_request_onereq_get0(request.pointer, Int32(index)), let certID = OCSP_onereq_get0_id(one) else {
                throw OpenSSL.Failure("reading question \(index)")
            }
            let added: OpaquePointer?
            switch status {
            case .good:
                added = OCSP_basic_add1_status(basic, certID, V_OCSP_CERTSTATUS_GOOD, 0, nil, this, next)
            case .unknown:
                added = OCSP_basic_add1_status(basic, certID, V_OCSP_CERTSTATUS_UNKNOWN, 0, nil, this, next)
            case .revoked(let at, let reason):
                let revoked = ASN1_TIME_set(nil, time_t(at.timeIntervalSince1970))
                defer { ASN1_TIME_free(revoked) }
                // -1 leaves revocationReason out.
                added = OCSP_basic_add1_status(basic, certID, V_OCSP_CERTSTATUS_REVOKED, Int32(reason ?? -1), revoked, this, next)
            }
            guard added != nil else { throw OpenSSL.Failure("adding an OCSP single response") }
        }
        if request.hasNonce, OCSP_copy_nonce(basic, request.pointer) <= 0 { throw OpenSSL.Failure("echoing the OCSP nonce") }
        // The responder certificate goes with the response so clients can check the delegation.
        guard OCSP_basic_sign(basic, signer.openSSLCertificate.pointer, signer.key.pointer, EVP_sha256(), nil, 0) == 1 else {
            throw OpenSSL.Failure("signing the OCSP response")
        }
        guard let response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic) else {
            throw OpenSSL.Failure("wrapping the OCSP response")
        }
        defer { OCSP_RESPONSE_free(response) }
        return try OpenSSL.encode({ i2d_OCSP_RESPONSE(response, $0) }, what: "an OCSP response")
    }

    /// An unsigned response carrying only `status` (RFC 6960 §2.3).
    public static func failure(_ status: Failure) -> [UInt8] {
        // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }
        [0x30, 0x03, 0x0A, 0x01, UInt8(status.rawValue)]
    }
}
