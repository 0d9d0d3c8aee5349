import Foundation
import SwiftASN1
import Synchronization
import X509

/// Intune's SCEP request validation service: validateRequest and the two notifications.
extension IntuneStandIn {
    static let challengePasswordOID: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 9, 7]
    /// What Intune answers for a challenge it did not issue.
    static let unknownChallenge = ValidationAnswer(code: "ChallengeDecryptionError", description: "The challenge could not be decrypted.")
    static let maximumErrorDescriptionLength = 255

    func answerValidate(_ exchange: Exchange) -> Answer {
        let authorized = checkBearer(exchange, needs: .intune)
        checkIntuneHeaders(exchange, service: .scep)
        let request = JSONObject(body: exchange)?.object("request")
        let transactionID = request?.string("transactionId")
        exchange.transactionID = transactionID
        let csr = request?.string("certificateRequest").flatMap { Self.readCSR($0, exchange) }
        _ = request?.string("callerInfo")

        guard authorized else { return .intuneUnauthorized }
        guard let transactionID, let csr else { return .graphError(400, "BadRequest", "The request body is not a validateRequest.") }
        let answer: ValidationAnswer
        if let challenge = csr.challenge {
            answer = state.withLock { $0.challenges[challenge] } ?? Self.unknownChallenge
        } else {
            exchange.note("the CSR has no challengePassword attribute")
            answer = ValidationAnswer(code: "ChallengeDeserializationError", description: "The CSR carries no challenge.")
        }
        if exchange.takesEffect {
            state.withLock { $0.transactions[transactionID] = Transaction(certificateRequest: csr.der, code: answer.code) }
        }
        return .json(200, ["code": answer.code, "errorDescription": answer.description])
    }

    func answerSuccessNotification(_ exchange: Exchange) -> Answer {
        let authorized = checkBearer(exchange, needs: .intune)
        checkIntuneHeaders(exchange, service: .scep)
        let body = JSONObject(body: exchange)?.object("notification")
        let transactionID = body?.string("transactionId")
        exchange.transactionID = transactionID
        checkValidated(transactionID, certificateRequest: body?.string("certificateRequest"), exchange)

        let thumbprint = body?.string("certificateThumbprint")
        if let thumbprint, !thumbprint.isEmpty, thumbprint.count != 40 || !Self.isHex(thumbprint) {
            exchange.note("certificateThumbprint \(thumbprint) is not 40 hexadecimal characters")
        }
        let serialNumber = body?.string("certificateSerialNumber")
        if let serialNumber, !serialNumber.isEmpty, !Self.isHex(serialNumber) {
            exchange.note("certificateSerialNumber \(serialNumber) is not hexadecimal")
        }
        let expiration = body?.string("certificateExpirationDateUtc")
        if let expiration, !expiration.isEmpty {
            if let date = Self.parseISO8601(expiration) {
                if date <= Date() { exchange.note("certificateExpirationDateUtc \(expiration) is not in the future") }
            } else {
                exchange.note("certificateExpirationDateUtc \(expiration) is not an ISO 8601 date-time with a time zone")
            }
        }
        let issuingCA = body?.string("issuingCertificateAuthority")
        for field in ["caConfiguration", "certificateAuthority", "callerInfo"] { _ = body?.string(field) }

        guard authorized else { return .intuneUnauthorized }
        guard let transactionID else { return .graphError(400, "BadRequest", "The request body is not a successNotification.") }
        if exchange.takesEffect {
            let notification = Notification(
                transactionID: transactionID, thumbprint: thumbprint, serialNumber: serialNumber, expiration: expiration,
                issuingCertificateAuthority: issuingCA, clientRequestID: exchange.header("client-request-id") ?? "")
            state.withLock { $0.successNotifications.append(notification) }
        }
        return .json(200, ["code": "Success", "errorDescription": ""])
    }

    func answerFailureNotification(_ exchange: Exchange) -> Answer {
        let authorized = checkBearer(exchange, needs: .intune)
        checkIntuneHeaders(exchange, service: .scep)
        let body = JSONObject(body: exchange)?.object("notification")
        let transactionID = body?.string("transactionId")
        exchange.transactionID = transactionID
        checkValidated(transactionID, certificateRequest: body?.string("certificateRequest"), exchange)

        let hResult = body?.integer("hResult")
        if let hResult, Int32(exactly: hResult) == nil {
            // HRESULTs are signed 32-bit: 0x80070057 is -2147024809, not 2147942487.
            exchange.note("hResult \(hResult) does not fit a signed 32-bit integer")
        }
        let errorDescription = body?.string("errorDescription", allowEmpty: true)
        if let errorDescription, errorDescription.count > Self.maximumErrorDescriptionLength {
            exchange.note("errorDescription is \(errorDescription.count) characters; at most \(Self.maximumErrorDescriptionLength)")
        }
        _ = body?.string("callerInfo")

        guard authorized else { return .intuneUnauthorized }
        guard let transactionID else { return .graphError(400, "BadRequest", "The request body is not a failureNotification.") }
        if exchange.takesEffect {
            let notification = Notification(
                transactionID: transactionID, hResult: hResult, errorDescription: errorDescription,
                clientRequestID: exchange.header("client-request-id") ?? "")
            state.withLock { $0.failureNotifications.append(notification) }
        }
        return .json(200, ["code": "Success", "errorDescription": ""])
    }

    /// A notification must follow a validateRequest answered Success, for the same CSR.
    private func checkValidated(_ transactionID: String?, certificateRequest: String?, _ exchange: Exchange) {
        guard let transactionID, !transactionID.isEmpty else { return }
        guard let transaction = state.withLock({ $0.transactions[transactionID] }) else {
            exchange.note("transactionId \(transactionID) was never validated")
            return
        }
        if transaction.code != "Success" {
            exchange.note("transactionId \(transactionID) was validated with \(transaction.code), not Success")
        }
        if let certificateRequest, !certificateRequest.isEmpty,
            Data(base64Encoded: certificateRequest).map(Array.init) != transaction.certificateRequest
        {
            exchange.note("certificateRequest differs from the one validated for transactionId \(transactionID)")
        }
    }

    /// A CSR as validateRequest reads it: its DER and its challengePassword.
    struct ReadCSR {
        var der: [UInt8]
        var challenge: String?
    }

    private static func readCSR(_ base64: String, _ exchange: Exchange) -> ReadCSR? {
        guard let der = Data(base64Encoded: base64).map(Array.init) else {
            exchange.note("certificateRequest is not standard base64")
            return nil
        }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: der)
        } catch {
            exchange.note("certificateRequest is not a DER PKCS#10 request: \(error)")
            return nil
        }
        guard let value = csr.attributes[oid: challengePasswordOID]?.values.first else {
            return ReadCSR(der: der, challenge: nil)
        }
        if let printable = try? ASN1PrintableString(asn1Any: value) { return ReadCSR(der: der, challenge: String(printable)) }
        if let utf8 = try? ASN1UTF8String(asn1Any: value) { return ReadCSR(der: der, challenge: String(utf8)) }
        exchange.note("the CSR's challengePassword is neither a PrintableString nor a UTF8String")
        return ReadCSR(der: der, challenge: nil)
    }

    static func isHex(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isHexDigit }
    }

    /// ISO 8601 with a time zone, with or without fractional seconds.
    static func parseISO8601(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
