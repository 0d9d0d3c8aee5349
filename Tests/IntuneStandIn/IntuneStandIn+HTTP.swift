import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

extension IntuneStandIn {
    /// Bodies of the contract are small; anything near this is a bug worth a violation.
    static let maximumBodySize = 1 << 20

    /// Routes one request, applies the scripted behaviour, and records the call.
    func respond(to request: Request) async -> Response {
        guard let route = route(method: request.method, path: request.uri.path) else {
            state.withLock { $0.violations.append("unexpected request \(request.method) \(request.uri)") }
            return Answer.graphError(404, "ResourceNotFound", "no such resource").response
        }
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: Self.maximumBodySize))
        } catch {
            state.withLock { $0.violations.append("\(route.call.rawValue): body larger than \(Self.maximumBodySize) bytes") }
            return Answer.graphError(413, "RequestEntityTooLarge", "body too large").response
        }

        if case .retired(let call) = route {
            // A URI from an older discovery: the client should discover again, not a contract breach.
            let exchange = Exchange(call: call, request: request, body: body, takesEffect: false)
            let answer = Answer.graphError(404, "ResourceNotFound", "this service moved")
            record(exchange, answer)
            return answer.response
        }

        let behaviour = state.withLock { $0.takeBehaviour(for: route.call) }
        if case .delay(let duration) = behaviour {
            // Cancelled only when the stand-in stops; then answer at once.
            try? await Task.sleep(for: duration)
        }
        let scripted = Self.scriptedAnswer(behaviour, for: route.call)
        let exchange = Exchange(call: route.call, request: request, body: body, takesEffect: scripted == nil)

        let answer: Answer
        switch route {
        case .token(let tenant): answer = answerToken(exchange, tenant: tenant)
        case .discovery: answer = answerDiscovery(exchange)
        case .intune(.validate): answer = answerValidate(exchange)
        case .intune(.successNotification): answer = answerSuccessNotification(exchange)
        case .intune(.failureNotification): answer = answerFailureNotification(exchange)
        case .intune(.downloadRevocations): answer = answerDownloadRevocations(exchange)
        case .intune(.uploadRevocationResults): answer = answerUploadRevocationResults(exchange)
        case .intune, .retired: preconditionFailure("route(method:path:) makes no such route")
        }
        let final = scripted ?? answer
        record(exchange, final)
        return final.response
    }

    private func record(_ exchange: Exchange, _ answer: Answer) {
        let call = RecordedCall(
            call: exchange.call, status: answer.status, clientRequestID: exchange.header("client-request-id"),
            userAgent: exchange.header("User-Agent"), at: Date(), transactionID: exchange.transactionID)
        state.withLock { state in
            state.calls.append(call)
            state.violations.append(contentsOf: exchange.violations)
        }
    }

    static func scriptedAnswer(_ behaviour: Behaviour, for call: Call) -> Answer? {
        switch behaviour {
        case .normal, .delay:
            return nil
        case .status(let status, let retryAfter):
            let reason = HTTPResponse.Status(code: status).reasonPhrase.replacingOccurrences(of: " ", with: "")
            var answer =
                call == .token
                ? Answer.json(status, ["error": "temporarily_unavailable", "error_description": "AADSTS50000: scripted HTTP \(status)."])
                : Answer.graphError(status, reason.isEmpty ? "Error" : reason, "scripted HTTP \(status)")
            answer.retryAfter = retryAfter
            return answer
        case .body(let status, let contentType, let text):
            return Answer(status: status, contentType: contentType, body: Array(text.utf8))
        }
    }

    // MARK: Routing

    enum Route {
        /// The token endpoint, with the tenant the path names.
        case token(tenant: String)
        case discovery
        /// One of the two Intune services, current generation.
        case intune(Call)
        /// An Intune service URI of an older generation.
        case retired(Call)

        var call: Call {
            switch self {
            case .token: .token
            case .discovery: .discovery
            case .intune(let call), .retired(let call): call
            }
        }
    }

    static let intuneAppID = "0000000a-0000-0000-c000-000000000000"

    /// The route for a request, nil when the contract has no such request.
    func route(method: HTTPRequest.Method, path: String) -> Route? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        switch (method, segments.first) {
        case (.post, "login"):
            guard segments.count == 5, !segments[1].isEmpty, segments[2...] == ["oauth2", "v2.0", "token"] else { return nil }
            return .token(tenant: segments[1].removingPercentEncoding ?? segments[1])
        case (.get, "graph"):
            // Graph reads `appId=` and `appId%3D` alike.
            let expected = ["graph", "v1.0", "servicePrincipals", "appId=\(Self.intuneAppID)", "endpoints"]
            return segments.map { $0.removingPercentEncoding ?? $0 } == expected ? .discovery : nil
        case (.post, "intune"):
            guard segments.count == 5, let generation = Self.generation(segments[1]) else { return nil }
            let call: Call
            switch (segments[2], segments[3], segments[4]) {
            case ("scep", "ScepActions", "validateRequest"): call = .validate
            case ("scep", "ScepActions", "successNotification"): call = .successNotification
            case ("scep", "ScepActions", "failureNotification"): call = .failureNotification
            case ("pki", "CertificateAuthorityRequests", "downloadRevocationRequests"): call = .downloadRevocations
            case ("pki", "CertificateAuthorityRequests", "uploadRevocationResults"): call = .uploadRevocationResults
            default: return nil
            }
            let current = state.withLock { $0.generation }
            if generation == current { return .intune(call) }
            return generation < current ? .retired(call) : nil
        default:
            return nil
        }
    }

    /// Service URIs carry their generation as `g1`, `g2`, …
    static func generation(_ segment: String) -> Int? {
        guard segment.first == "g", let number = Int(segment.dropFirst()), number > 0 else { return nil }
        return number
    }

    func serviceURI(_ service: IntuneService, generation: Int) -> String {
        "\(baseURL)/intune/g\(generation)/\(service.rawValue)"
    }

    enum IntuneService: String {
        case scep, pki

        var apiVersion: String {
            switch self {
            case .scep: "2018-02-20"
            case .pki: "5019-05-05"
            }
        }
    }

    // MARK: Checks shared by several calls

    /// Whether the bearer token grants `scope`. A missing, malformed, never
    /// issued or wrongly scoped token is a violation; an expired one is not
    /// (the client could not have known).
    func checkBearer(_ exchange: Exchange, needs scope: TokenScope) -> Bool {
        guard let authorization = exchange.header("Authorization") else {
            exchange.note("no Authorization header")
            return false
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "Bearer", !parts[1].isEmpty else {
            exchange.note("Authorization is not `Bearer <token>`: \(authorization.prefix(40))")
            return false
        }
        guard let token = state.withLock({ $0.tokens[String(parts[1])] }) else {
            exchange.note("the bearer token was never issued by the token endpoint")
            return false
        }
        guard token.scope == scope else {
            exchange.note("the bearer token has the \(token.scope.rawValue) scope; this call needs the \(scope.rawValue) scope")
            return false
        }
        return token.expires > Date()
    }

    /// The headers every Intune call needs besides Authorization.
    func checkIntuneHeaders(_ exchange: Exchange, service: IntuneService) {
        switch exchange.header("api-version") {
        case nil: exchange.note("no api-version header (expected \(service.apiVersion))")
        case service.apiVersion?: break
        case let other?: exchange.note("api-version is \(other); the \(service.rawValue) service needs \(service.apiVersion)")
        }
        checkClientRequestID(exchange)
        if (exchange.header("User-Agent") ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            exchange.note("no User-Agent header")
        }
        checkContentType(exchange, "application/json")
    }

    /// `client-request-id` must be a GUID never sent before, on any call.
    func checkClientRequestID(_ exchange: Exchange) {
        guard let value = exchange.header("client-request-id") else {
            exchange.note("no client-request-id header")
            return
        }
        guard let id = UUID(uuidString: value) else {
            exchange.note("client-request-id \(value) is not a GUID")
            return
        }
        let fresh = state.withLock { $0.seenClientRequestIDs.insert(id).inserted }
        if !fresh { exchange.note("client-request-id \(value) was already used by an earlier call") }
    }

    func checkContentType(_ exchange: Exchange, _ expected: String) {
        guard let value = exchange.header("Content-Type") else {
            exchange.note("no Content-Type header (expected \(expected))")
            return
        }
        let mediaType = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        if mediaType.trimmingCharacters(in: .whitespaces).lowercased() != expected {
            exchange.note("Content-Type is \(value); expected \(expected)")
        }
    }

    // MARK: Exchange and answer

    /// One request as the handlers see it, and the deviations they find in it.
    ///
    /// A class so that handlers and the JSON readers they hand it to note into
    /// the same list; it lives within one request's task.
    final class Exchange {
        let call: Call
        let headers: HTTPFields
        let body: [UInt8]
        /// False when a scripted answer replaces the real one: check everything, change nothing.
        let takesEffect: Bool
        private(set) var violations: [String] = []
        var transactionID: String?

        init(call: Call, request: Request, body: [UInt8], takesEffect: Bool) {
            self.call = call
            self.headers = request.headers
            self.body = body
            self.takesEffect = takesEffect
        }

        func note(_ problem: String) {
            violations.append("\(call.rawValue): \(problem)")
        }

        func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }
        }

        /// The start of the body, for messages.
        var bodyExcerpt: String {
            let text = String(decoding: body.prefix(80), as: UTF8.self)
            return body.isEmpty ? "(empty)" : body.count > 80 ? text + "…" : text
        }
    }

    struct Answer {
        var status: Int
        var contentType: String
        var body: [UInt8]
        var retryAfter: Int?

        init(status: Int, contentType: String, body: [UInt8], retryAfter: Int? = nil) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.retryAfter = retryAfter
        }

        static func json(_ status: Int, _ object: Any) -> Answer {
            Answer(status: status, contentType: "application/json; charset=utf-8", body: JSON.encode(object))
        }

        /// Graph's and Intune's error shape.
        static func graphError(_ status: Int, _ code: String, _ message: String) -> Answer {
            json(status, ["error": ["code": code, "message": message]])
        }

        static let intuneUnauthorized = json(401, ["error": ["code": "Unauthorized"]])

        var response: Response {
            var headers = HTTPFields()
            headers[.contentType] = contentType
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
