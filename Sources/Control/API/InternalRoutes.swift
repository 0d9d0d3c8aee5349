import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ScepterProtocol

/// The internal API edges call (SPEC §3 steps 4 and 6, §8 "Internal"), behind
/// the edge token. Answers are JSON (`InternalAPI`), except the CRL (DER).
package struct InternalRoutes: Sendable {
    let issuance: any Issuance
    let tokens: BearerTokens
    let edgeProfiles: EdgeProfiles
    let metrics: ControlMetrics?
    let logger: Logger

    package init(
        issuance: any Issuance, tokens: BearerTokens, edgeProfiles: EdgeProfiles = EdgeProfiles(nil), metrics: ControlMetrics? = nil,
        logger: Logger
    ) {
        self.issuance = issuance
        self.tokens = tokens
        self.edgeProfiles = edgeProfiles
        self.metrics = metrics
        self.logger = logger
    }

    package func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("/internal/v1").add(middleware: BearerAuthMiddleware(tokens: tokens, role: .edge))
        group.post("enrollments") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: InternalAPI.maxBodySize)
            let enrollment: EnrollmentRequest
            do {
                enrollment = try InternalAPI.decoder().decode(EnrollmentRequest.self, from: Data(body.readableBytesView))
            } catch {
                return Response.plain("the body is not an enrollment request: \(error)", status: .badRequest)
            }
            if let refusal = refuseOtherProfiles(request, enrollment.profile) { return refusal }
            let started = ContinuousClock.now
            var decision: InternalAPI.Decision.Status?
            defer { metrics?.recordDecision(profile: enrollment.profile, decision: decision, duration: ContinuousClock.now - started) }
            return try await answer {
                let answered = try await issuance.enroll(enrollment)
                decision = InternalAPI.Decision(answered).status
                return answered
            }
        }
        group.get("enrollments/:profile/:transaction") { request, context in
            let profile = try Self.decoded(context, "profile")
            if let refusal = refuseOtherProfiles(request, profile) { return refusal }
            let transaction = try Self.decoded(context, "transaction")
            return try await answer { try await issuance.poll(profile: profile, transactionID: transaction) }
        }
        group.get("certificates/:profile/:serial") { request, context in
            let profile = try Self.decoded(context, "profile")
            if let refusal = refuseOtherProfiles(request, profile) { return refusal }
            let serial = try Self.decoded(context, "serial")
            return try await json { try await issuance.certificate(profile: profile, serialNumber: serial) }
        }
        group.get("profiles/:profile/ca") { request, context in
            let profile = try Self.decoded(context, "profile")
            if let refusal = refuseOtherProfiles(request, profile) { return refusal }
            return try await json { try await issuance.caCertificates(profile: profile) }
        }
        group.get("profiles/:profile/crl") { request, context in
            let profile = try Self.decoded(context, "profile")
            if let refusal = refuseOtherProfiles(request, profile) { return refusal }
            // Optional: an edge that predates it asks for the profile's current issuer's CRL.
            var naming: IssuerAndSerial?
            if let parameter = request.uri.queryParameters.get(InternalAPI.crlRequestParameter) {
                switch InternalAPI.crlRequest(parameter: parameter) {
                case .success(let named): naming = named
                case .failure(let problem): return Response.plain("\(problem)", status: .badRequest)
                }
            }
            let crl: [UInt8]?
            do {
                crl = try await issuance.crl(profile: profile, naming: naming)
            } catch {
                return unavailable(error)
            }
            guard let crl else { return Response.plain("profile \(profile) \(InternalAPI.unknownCRLIssuer)", status: .notFound) }
            return Response(
                status: .ok, headers: [.contentType: "application/pkix-crl"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: crl)))
        }
    }

    /// 403 when `SCEPTER_EDGE_PROFILES` does not let the edge whose token
    /// made `request` serve `profile`; nil when it may.
    private func refuseOtherProfiles(_ request: Request, _ profile: String) -> Response? {
        // Unrestricted: no need to find the token's holder a second time (the middleware did, to authenticate).
        guard edgeProfiles.isRestricted else { return nil }
        let edge = tokens.principal(authorization: request.headers[.authorization])?.name ?? "unknown"
        guard !edgeProfiles.allows(edge: edge, profile: profile) else { return nil }
        logger.warning("an edge asked for a profile it may not serve", metadata: ["edge": "\(edge)", "profile": "\(profile)"])
        return Response.plain("edge \(edge) may not serve profile \(profile) (SCEPTER_EDGE_PROFILES)", status: .forbidden)
    }

    /// A path parameter as the edge meant it: `InternalAPI` percent-encodes
    /// every byte outside the unreserved set (base64 transactionIDs hold `+`, `/`, `=`).
    static func decoded<Context: RequestContext>(_ context: Context, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding else {
            throw HTTPError(.badRequest, message: "\(name) is not valid percent-encoding")
        }
        return decoded
    }

    private func answer(_ decide: () async throws -> EnrollmentDecision?) async throws -> Response {
        try await json { try await decide().map(InternalAPI.Decision.init) }
    }

    /// 200 with the value as JSON, 404 when nil, 503 when the store or issuer cannot answer now.
    private func json<Value: Encodable>(_ produce: () async throws -> Value?) async throws -> Response {
        let value: Value?
        do {
            value = try await produce()
        } catch {
            return unavailable(error)
        }
        guard let value else { return Response.plain(InternalAPI.notFound, status: .notFound) }
        let body = try InternalAPI.encoder().encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func unavailable(_ error: any Error) -> Response {
        logger.warning("internal API request failed", metadata: ["error": "\(error)"])
        var response = Response.plain("unavailable: \(error)", status: .serviceUnavailable)
        response.headers[.retryAfter] = "5"
        return response
    }
}

/// Refuses requests without a bearer token granting `role`: 401 without a
/// valid token, 403 with a token of another role.
package struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: BearerTokens
    let role: BearerTokens.Role

    package init(tokens: BearerTokens, role: BearerTokens.Role) {
        self.tokens = tokens
        self.role = role
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = tokens.principal(authorization: request.headers[.authorization]) else {
            return APIResponse.error(.unauthorized, .unauthorized, "a valid bearer token is required (Authorization: Bearer <token>)")
        }
        guard principal.roles.contains(role) else {
            return APIResponse.error(.forbidden, .forbidden, "this endpoint needs a token with the \(role.rawValue) role; \(principal.name) has \(principal.roles.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        return try await next(request, context)
    }
}

extension Response {
    static func plain(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
