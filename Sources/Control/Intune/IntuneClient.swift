import Foundation
import NIOHTTP1
import Logging
import Synchronization
import ScepterProtocol

/// Microsoft's SCEP validation and revocation services for one app
/// registration (SPEC §5.2): each call authenticated with an Entra token,
/// sent to the discovered URI with `api-version`, a fresh `client-request-id`
/// (logged: Microsoft support asks for it) and Scepter's User-Agent.
package final class IntuneClient: Sendable {
    /// Intune's answer to validateRequest.
    struct Verdict: Sendable {
        var code: String
        var errorDescription: String
        var clientRequestID: String
    }

    /// One of Intune's revocation requests.
    struct RevocationRequest: Sendable, Hashable {
        var requestContext: String
        var serialNumber: String
        var issuerName: String?
        var caConfiguration: String?
    }

    /// What Scepter reports for a revocation request.
    struct RevocationResult: Sendable, Hashable {
        var requestContext: String
        var succeeded: Bool
        /// `None` on success, else e.g. `CertificateNotFoundError`.
        var errorCode: String
        var errorMessage: String
    }

    /// For the admin stats: the breaker of each service and its last good call.
    package struct Status: Sendable, Codable {
        package struct ServiceStatus: Sendable, Codable {
            package var service: String
            package var breaker: CircuitBreaker.State
            package var lastSuccess: Date?
            package var lastFailure: Date?
            package var lastError: String?
        }

        package var tenantID: String
        package var clientID: String
        package var services: [ServiceStatus]
    }

    let settings: IntuneAPISettings
    let tokens: EntraTokens
    let directory: IntuneServiceDirectory
    let http: MicrosoftHTTP
    let metrics: ControlMetrics?
    let logger: Logger
    /// Identifies Scepter in `callerInfo` (Microsoft's "provider name and version").
    let callerInfo: String
    private let breakers: [IntuneServiceDirectory.Service: CircuitBreaker]
    private struct CallHistory {
        var success: Date?
        var failure: Date?
        var error: String?
    }
    private let history = Mutex<[IntuneServiceDirectory.Service: CallHistory]>([:])

    init(settings: IntuneAPISettings, http: MicrosoftHTTP, options: IntuneOptions, metrics: ControlMetrics?, logger: Logger) {
        self.settings = settings
        self.http = http
        self.metrics = metrics
        self.logger = logger
        self.callerInfo = "Scepter/\(ScepterRelease.version)"
        tokens = EntraTokens(settings: settings, http: http, metrics: metrics, logger: logger)
        directory = IntuneServiceDirectory(settings: settings, http: http, tokens: tokens, logger: logger)
        var breakers: [IntuneServiceDirectory.Service: CircuitBreaker] = [:]
        for service in IntuneServiceDirectory.Service.allCases {
            let label = service.rawValue
            metrics?.recordBreaker(service: label, tenant: settings.tenantID, state: .closed)
            breakers[service] = CircuitBreaker(threshold: options.breakerThreshold, cooldown: options.breakerCooldown) { state in
                metrics?.recordBreaker(service: label, tenant: settings.tenantID, state: state)
                logger.warning("Intune circuit breaker \(state.rawValue)", metadata: ["service": "\(label)", "tenant": "\(settings.tenantID)"])
            }
        }
        self.breakers = breakers
    }

    package var status: Status {
        let history = history.withLock { $0 }
        return Status(
            tenantID: settings.tenantID, clientID: settings.clientID,
            services: IntuneServiceDirectory.Service.allCases.map { service in
                Status.ServiceStatus(
                    service: service.rawValue, breaker: breakers[service]?.state ?? .closed, lastSuccess: history[service]?.success,
                    lastFailure: history[service]?.failure, lastError: history[service]?.error)
            })
    }

    // MARK: SCEP validation service

    /// `validateRequest`: Intune judges the challenge inside the CSR. Not
    /// retried (only a refused token is renewed once); any code is an answer.
    func validate(transactionID: String, csr: [UInt8]) async throws(IntuneAPIError) -> Verdict {
        let body: [String: Any] = [
            "request": ["transactionId": transactionID, "certificateRequest": Base64.encode(csr), "callerInfo": callerInfo]
        ]
        let (answer, requestID) = try await call(.scepValidation, "ScepActions/validateRequest", name: .validateRequest, body: body, retries: false)
        guard let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] else {
            throw IntuneAPIError(
                .badAnswer, call: .validateRequest, clientRequestID: requestID,
                "Intune answered \(answer.status) with a body that is not JSON (\(answer.contentType)): \(answer.excerpt)")
        }
        guard let code = json["code"] as? String, !code.isEmpty else {
            throw IntuneAPIError(
                .badAnswer, call: .validateRequest, clientRequestID: requestID,
                "Intune answered \(answer.status) with JSON that has no \"code\": \(answer.excerpt)")
        }
        let description = json["errorDescription"] as? String ?? ""
        metrics?.recordIntuneCode(code)
        return Verdict(code: code, errorDescription: description, clientRequestID: requestID)
    }

    /// The certificate Intune allowed, reported before it goes to the device.
    struct Issued: Sendable {
        var transactionID: String
        var csr: [UInt8]
        var thumbprint: String
        var serialNumber: String
        var notAfter: Date
        var issuingAuthority: String
        var caConfiguration: String
    }

    /// `successNotification`, retried while transient; returns its client-request-id.
    func notifySuccess(_ issued: Issued) async throws(IntuneAPIError) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body: [String: Any] = [
            "notification": [
                "transactionId": issued.transactionID, "certificateRequest": Base64.encode(issued.csr),
                "certificateThumbprint": issued.thumbprint, "certificateSerialNumber": issued.serialNumber,
                "certificateExpirationDateUtc": formatter.string(from: issued.notAfter),
                "issuingCertificateAuthority": issued.issuingAuthority, "caConfiguration": issued.caConfiguration,
                "certificateAuthority": issued.caConfiguration, "callerInfo": callerInfo,
            ]
        ]
        let (answer, requestID) = try await call(.scepValidation, "ScepActions/successNotification", name: .successNotification, body: body)
        try checkAcknowledged(answer, call: .successNotification, requestID: requestID)
        return requestID
    }

    /// `failureNotification`: Intune allowed the request, Scepter could not
    /// issue it. `hResult` is a Windows HRESULT; the description is cut to 255.
    func notifyFailure(transactionID: String, csr: [UInt8], hResult: Int32, description: String) async throws(IntuneAPIError) -> String {
        let body: [String: Any] = [
            "notification": [
                "transactionId": transactionID, "certificateRequest": Base64.encode(csr), "hResult": Int(hResult),
                "errorDescription": String(description.prefix(255)), "callerInfo": callerInfo,
            ]
        ]
        let (answer, requestID) = try await call(.scepValidation, "ScepActions/failureNotification", name: .failureNotification, body: body)
        try checkAcknowledged(answer, call: .failureNotification, requestID: requestID)
        return requestID
    }

    /// A notification's answer: `{"code":"Success"}`, or no body at all.
    private func checkAcknowledged(_ answer: MicrosoftHTTP.Answer, call: IntuneAPIError.Call, requestID: String) throws(IntuneAPIError) {
        guard !answer.body.isEmpty, let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let code = json["code"] as? String
        else { return }
        guard code == "Success" else {
            throw IntuneAPIError(
                .refused(status: answer.status), call: call, clientRequestID: requestID,
                "Intune answered \(code): \(json["errorDescription"] as? String ?? "")")
        }
    }

    // MARK: PKI connector service

    /// `downloadRevocationRequests`: up to `maxRequests` (1–500) pending requests.
    func downloadRevocationRequests(maxRequests: Int, issuerName: String? = nil) async throws(IntuneAPIError) -> [RevocationRequest] {
        let body: [String: Any] = [
            "downloadParameters": ["maxRequests": min(500, max(1, maxRequests)), "issuerName": issuerName.map { $0 as Any } ?? NSNull()]
        ]
        let (answer, requestID) = try await call(
            .pkiConnector, "CertificateAuthorityRequests/downloadRevocationRequests", name: .downloadRevocationRequests, body: body)
        guard let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let value = json["value"] as? [[String: Any]]
        else {
            throw IntuneAPIError(
                .badAnswer, call: .downloadRevocationRequests, clientRequestID: requestID,
                "Intune's answer is not a JSON object with a value list (\(answer.contentType)): \(answer.excerpt)")
        }
        return value.compactMap { entry in
            guard let context = entry["requestContext"] as? String, let serial = entry["serialNumber"] as? String else {
                logger.warning("Intune revocation request without requestContext or serialNumber ignored", metadata: ["client-request-id": "\(requestID)"])
                return nil
            }
            return RevocationRequest(
                requestContext: context, serialNumber: serial, issuerName: entry["issuerName"] as? String,
                caConfiguration: entry["caConfiguration"] as? String)
        }
    }

    /// `uploadRevocationResults`.
    func uploadRevocationResults(_ results: [RevocationResult]) async throws(IntuneAPIError) {
        let body: [String: Any] = [
            "results": results.map { result -> [String: Any] in
                [
                    "requestContext": result.requestContext, "succeeded": result.succeeded, "errorCode": result.errorCode,
                    "errorMessage": result.errorMessage,
                ]
            }
        ]
        _ = try await call(.pkiConnector, "CertificateAuthorityRequests/uploadRevocationResults", name: .uploadRevocationResults, body: body)
    }

    // MARK: One call

    /// Sends one POST through the breaker: a refused token is renewed once,
    /// a 404 rediscovers the service once, transient failures are retried
    /// when `retries` allows. Non-2xx answers become `IntuneAPIError`s.
    private func call(
        _ service: IntuneServiceDirectory.Service, _ path: String, name: IntuneAPIError.Call, body: [String: Any], retries: Bool = true
    ) async throws(IntuneAPIError) -> (MicrosoftHTTP.Answer, String) {
        guard let breaker = breakers[service], breaker.allow() else {
            metrics?.recordIntuneRequest(call: name, code: "breaker_open", duration: nil)
            throw IntuneAPIError(
                .breakerOpen, call: name,
                "\(service.rawValue) failed \(breakers[service]?.threshold ?? 0) times in a row; calls resume after SCEPTER_INTUNE_BREAKER_COOLDOWN")
        }
        let payload: [UInt8]
        do {
            payload = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            breaker.recordNeutral()
            throw IntuneAPIError(.badAnswer, call: name, "could not encode the request: \(error)")
        }
        do {
            let result = try await Retry.transient(call: name, attempts: retries ? Retry.attempts : 1) { () async throws(IntuneAPIError) in
                try await self.attempt(service, path, name: name, payload: payload)
            }
            breaker.recordSuccess()
            history.withLock { $0[service, default: CallHistory()].success = Date() }
            return result
        } catch {
            if error.isTransient { breaker.recordFailure() } else { breaker.recordNeutral() }
            history.withLock { history in
                history[service, default: CallHistory()].failure = Date()
                history[service, default: CallHistory()].error = error.description
            }
            throw error
        }
    }

    /// One attempt, with at most one token renewal and one rediscovery inside it.
    private func attempt(
        _ service: IntuneServiceDirectory.Service, _ path: String, name: IntuneAPIError.Call, payload: [UInt8]
    ) async throws(IntuneAPIError) -> (MicrosoftHTTP.Answer, String) {
        var renewedToken = false
        var rediscovered = false
        while true {
            let uri = try await directory.uri(for: service)
            let token = try await tokens.token(for: settings.intuneScope)
            let requestID = SystemRandom.identifier()
            let started = ContinuousClock.now
            let answer: MicrosoftHTTP.Answer
            do {
                answer = try await http.send(
                    .POST, "\(uri)/\(path)",
                    headers: [
                        ("Authorization", "Bearer \(token)"), ("api-version", service.apiVersion), ("client-request-id", requestID),
                        ("Content-Type", "application/json"), ("Accept", "application/json"),
                    ],
                    body: payload, timeout: settings.timeout)
            } catch {
                metrics?.recordIntuneRequest(call: name, code: "unreachable", duration: ContinuousClock.now - started)
                logger.warning("Intune call got no answer", metadata: ["call": "\(name)", "client-request-id": "\(requestID)", "error": "\(error)"])
                throw IntuneAPIError(.unreachable, call: name, clientRequestID: requestID, "\(service.rawValue) did not answer within \(settings.timeout): \(error)")
            }
            metrics?.recordIntuneRequest(call: name, code: String(answer.status), duration: ContinuousClock.now - started)
            logger.info("Intune call", metadata: ["call": "\(name)", "status": "\(answer.status)", "client-request-id": "\(requestID)"])
            switch answer.status {
            case 200..<300:
                return (answer, requestID)
            case 401 where !renewedToken, 403 where !renewedToken:
                // Expired, or issued before admin consent granted the role: one fresh token.
                tokens.invalidate(settings.intuneScope, token: token)
                renewedToken = true
            case 404 where !rediscovered:
                directory.invalidate()
                rediscovered = true
            case 401, 403:
                throw IntuneAPIError(
                    .refused(status: answer.status), call: name, clientRequestID: requestID,
                    "Intune refused the app \(settings.clientID) (\(answer.status)): grant it the Intune API permission scep_challenge_provider "
                        + "(application) with admin consent")
            case 404:
                throw IntuneAPIError(.notFound, call: name, clientRequestID: requestID, "\(service.rawValue) answered 404 at \(uri)/\(path) after rediscovery")
            case 429:
                throw IntuneAPIError(.throttled(retryAfter: answer.retryAfter), call: name, clientRequestID: requestID, "Intune is throttling (429)")
            case 500...:
                let code: IntuneAPIError.Code = answer.retryAfter.map { .throttled(retryAfter: $0) } ?? .serverError(status: answer.status)
                throw IntuneAPIError(code, call: name, clientRequestID: requestID, "\(service.rawValue) answered \(answer.status)")
            default:
                throw IntuneAPIError(
                    .refused(status: answer.status), call: name, clientRequestID: requestID,
                    "\(service.rawValue) answered \(answer.status): \(answer.excerpt)")
            }
        }
    }
}
