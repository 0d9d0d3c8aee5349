import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ScepterProtocol

/// The SCEP HTTP surface (SPEC §4): `/scep/{profile}`, `/scep` for the
/// default profile, the Cisco-style `pkiclient.exe` path and NDES's own path.
package struct SCEPRoutes: Sendable {
    /// Largest POST body accepted (256 KiB); larger gets 413.
    package static let maxBodySize = 256 * 1024
    /// Largest GET `message` accepted (64 KiB of base64); larger gets 413.
    package static let maxMessageQuerySize = 64 * 1024

    let configuration: EdgeConfiguration
    let handler: PKIOperationHandler
    let issuance: any Issuance

    package init(configuration: EdgeConfiguration, handler: PKIOperationHandler, issuance: any Issuance) {
        self.configuration = configuration
        self.handler = handler
        self.issuance = issuance
    }

    package func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        let defaultProfile = EdgeConfiguration.defaultProfileName
        for path in ["/scep", "/scep/pkiclient.exe", "/certsrv/mscep/mscep.dll"] {
            router.get(RouterPath(path)) { request, context in
                try await self.respond(request, context: context, profileName: defaultProfile)
            }
            router.post(RouterPath(path)) { request, context in
                try await self.respond(request, context: context, profileName: defaultProfile)
            }
        }
        for path in ["/scep/:profile", "/scep/:profile/pkiclient.exe"] {
            router.get(RouterPath(path)) { request, context in
                try await self.respond(request, context: context, profileName: context.parameters.get("profile") ?? "")
            }
            router.post(RouterPath(path)) { request, context in
                try await self.respond(request, context: context, profileName: context.parameters.get("profile") ?? "")
            }
        }
    }

    func respond<Context: RemoteAddressRequestContext>(
        _ request: Request, context: Context, profileName: String
    ) async throws -> Response {
        guard let profile = configuration.profiles[profileName.lowercased()] else {
            return .text("unknown SCEP profile \"\(profileName.prefix(64))\"\n", status: .notFound)
        }
        let query = QueryString(request.uri.query ?? "")
        guard let operationName = query.rawValue(for: "operation") else {
            return .text("missing operation parameter\n", status: .badRequest)
        }
        guard let operation = Operation(query: QueryString.percentDecode(operationName)) else {
            return .text("unknown operation \"\(operationName.prefix(64))\"\n", status: .badRequest)
        }
        switch operation {
        case .getCACaps:
            let caps = CACapabilities(nextCACertificate: (try? await issuance.caCertificates(profile: profile.name))?.next != nil)
            return .text(caps.body, status: .ok)
        case .getCACert:
            return try await caCertificate(profile: profile)
        case .getNextCACert:
            return try await nextCACertificate(profile: profile)
        case .pkiOperation:
            return try await pkiOperation(request, context: context, profile: profile, query: query)
        }
    }

    private func caCertificate(profile: EdgeConfiguration.Profile) async throws -> Response {
        let ca: CACertificates
        do {
            ca = try await issuance.caCertificates(profile: profile.name)
        } catch {
            return .unavailable("CA certificates unavailable")
        }
        // With an RA, clients need both: a degenerate PKCS#7, CA first.
        let bundle = try DegenerateSignedData.encode(certificates: [ca.issuer] + ca.intermediates + profile.ra.certificates)
        return .binary(bundle, contentType: "application/x-x509-ca-ra-cert")
    }

    private func nextCACertificate(profile: EdgeConfiguration.Profile) async throws -> Response {
        let ca: CACertificates
        do {
            ca = try await issuance.caCertificates(profile: profile.name)
        } catch {
            return .unavailable("CA certificates unavailable")
        }
        guard let next = ca.next else {
            return .text("no next CA is configured for profile \(profile.name)\n", status: .notFound)
        }
        let signed = try NextCACertificate.encode(next: next, ra: profile.ra)
        return .binary(signed, contentType: "application/x-x509-next-ca-cert")
    }

    private func pkiOperation<Context: RemoteAddressRequestContext>(
        _ request: Request, context: Context, profile: EdgeConfiguration.Profile, query: QueryString
    ) async throws -> Response {
        let source = configuration.trustedProxies.client(
            peer: context.sourceAddress, forwardedFor: request.headers[values: Self.forwardedFor])
        if let limited = await handler.throttle(source: source, profile: profile.name) { return Self.response(limited) }
        let body: [UInt8]
        if request.method == .post {
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: Self.maxBodySize)
            } catch is NIOTooManyBytesError {
                return await refuse("request body exceeds \(Self.maxBodySize) bytes", status: .contentTooLarge, profile, source)
            }
            body = Self.unwrapBase64(Array(buffer.readableBytesView))
        } else {
            guard let raw = query.rawValue(for: "message") else {
                return await refuse("PKIOperation over GET needs a message parameter", status: .badRequest, profile, source)
            }
            guard raw.utf8.count <= Self.maxMessageQuerySize else {
                return await refuse("message parameter exceeds \(Self.maxMessageQuerySize) bytes", status: .contentTooLarge, profile, source)
            }
            // Clients differ: some escape, some send raw base64 whose `+`
            // became a space on the way; padding may be missing.
            guard let decoded = Base64.decode(QueryString.percentDecode(raw), spaceIsPlus: true), !decoded.isEmpty else {
                return await refuse("message parameter is not base64", status: .badRequest, profile, source)
            }
            body = decoded
        }
        return Self.response(await handler.handle(body, profile: profile, sourceAddress: source))
    }

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    static func response(_ answer: PKIOperationHandler.Response) -> Response {
        switch answer {
        case .certRep(let reply):
            return .binary(reply, contentType: "application/x-pki-message")
        case .badRequest(let reason):
            return .text("not a SCEP PKIMessage: \(reason)\n", status: .badRequest)
        case .unavailable:
            return .unavailable("SCEP service temporarily unavailable")
        case .tooManyRequests(let seconds):
            return Response(
                status: .tooManyRequests, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "\(seconds)"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "too many requests from this address; retry after \(seconds) s\n")))
        }
    }

    /// Answers a PKIOperation that could not even be read, auditing it like any other.
    private func refuse(
        _ reason: String, status: HTTPResponse.Status, _ profile: EdgeConfiguration.Profile, _ source: String?
    ) async -> Response {
        let outcome = await handler.refuseUnread(reason, response: .badRequest(reason), profile: profile.name, sourceAddress: source)
        if case .unavailable = outcome { return .unavailable("SCEP service temporarily unavailable") }
        return .text(reason + "\n", status: status)
    }

    /// Some clients POST base64 instead of DER; DER always starts with a SEQUENCE tag.
    static func unwrapBase64(_ body: [UInt8]) -> [UInt8] {
        guard let first = body.first, first != 0x30, let decoded = Base64.decode(String(decoding: body, as: UTF8.self)),
            decoded.first == 0x30
        else { return body }
        return decoded
    }
}

extension Response {
    static func text(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func binary(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func unavailable(_ reason: String) -> Response {
        Response(
            status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "30"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: reason + "\n")))
    }
}
