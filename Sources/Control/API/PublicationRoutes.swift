import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What relying parties (RADIUS, VPN gateways, browsers) fetch without a
/// token (SPEC §8 "Public"): each issuer's CRL at `/crl/{issuer}.crl`.
package struct PublicationRoutes: Sendable {
    let crls: CRLPublisher
    /// How long HTTP caches may keep a CRL: a revocation reaches a
    /// well-behaved cache within this, although the CRL is valid for days.
    static let cacheLifetime = 300

    package init(crls: CRLPublisher) {
        self.crls = crls
    }

    package func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/crl/:file") { request, context in
            let file = try context.parameters.require("file")
            guard file.hasSuffix(".crl"), file.count > 4, file.count <= 68 else {
                return Self.text(.notFound, "not found: CRLs are served as /crl/{issuer}.crl")
            }
            let issuer = String(file.dropLast(4)).lowercased()
            let crl: CRLPublisher.Published?
            do {
                crl = try await crls.crl(issuer: issuer)
            } catch {
                var response = Self.text(.serviceUnavailable, "the CRL cannot be signed now: the inventory is unavailable")
                response.headers[.retryAfter] = "30"
                return response
            }
            guard let crl else { return Self.text(.notFound, "no issuer named \(issuer.prefix(64)) on this control plane") }
            var headers: HTTPFields = [
                .contentType: "application/pkix-crl", .eTag: crl.entityTag,
                .cacheControl: "public, max-age=\(Self.cacheLifetime), no-transform",
                .lastModified: Self.httpDate(crl.thisUpdate), .expires: Self.httpDate(Date().addingTimeInterval(TimeInterval(Self.cacheLifetime))),
            ]
            if request.headers[.ifNoneMatch]?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == crl.entityTag }) == true {
                headers[.contentType] = nil
                return Response(status: .notModified, headers: headers)
            }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: crl.der)))
        }
    }

    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    /// RFC 9110 IMF-fixdate.
    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
