/// A call to Entra ID, Graph or Intune that did not produce an answer Scepter
/// can act on. The message names what the operator can check.
package struct IntuneAPIError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable, Hashable {
        /// No answer: connection refused, reset, DNS, or the call's timeout.
        case unreachable
        /// 429, or 503 with Retry-After: Microsoft asks to come back later.
        case throttled(retryAfter: Duration?)
        /// 5xx.
        case serverError(status: Int)
        /// 401/403 after a fresh token, or Entra refusing the credential: a
        /// configuration problem (credential, permission, admin consent).
        case refused(status: Int)
        /// 404 from a discovered service URI even after rediscovery.
        case notFound
        /// 2xx whose body is not the JSON the contract describes.
        case badAnswer
        /// The breaker is open: Intune failed recently, calls wait out the cooldown.
        case breakerOpen
    }

    /// The Microsoft call that failed (its name is the metrics' `call` label).
    package enum Call: String, Sendable {
        /// Entra ID's token endpoint.
        case token
        /// Microsoft Graph's service discovery.
        case discovery
        case validateRequest, successNotification, failureNotification
        case downloadRevocationRequests, uploadRevocationResults
    }

    package var code: Code
    package var call: Call
    /// The `client-request-id` sent, for Microsoft support; nil for Entra and Graph.
    package var clientRequestID: String?
    package var message: String

    package init(_ code: Code, call: Call, clientRequestID: String? = nil, _ message: String) {
        self.code = code
        self.call = call
        self.clientRequestID = clientRequestID
        self.message = message
    }

    package var description: String {
        "\(call): \(message)" + (clientRequestID.map { " (client-request-id \($0))" } ?? "")
    }

    /// Whether a retry may help and the failure counts against the breaker.
    var isTransient: Bool {
        switch code {
        case .unreachable, .throttled, .serverError, .badAnswer, .breakerOpen: true
        case .refused, .notFound: false
        }
    }
}
