import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ScepterProtocol

/// What relying parties (RADIUS, VPN gateways, browsers) fetch without a
/// token (SPEC §8 "Public"): each issuer's CRL at `/crl/{issuer}.crl`, and
/// its OCSP responder at `POST /ocsp/{issuer}` and `GET /ocsp/{issuer}/{base64}`.
package struct PublicationRoutes: Sendable {
    let crls: CRLPublisher
    let ocsp: OCSPResponder
    let metrics: ControlMetrics
    /// How long HTTP caches may keep a CRL: a revocation reaches a
    /// well-behaved cache within this, although the CRL is valid for days.
    static let cacheLifetime = 300

    package init(crls: CRLPublisher, ocsp: OCSPResponder, metrics: ControlMetrics) {
        self.crls = crls
        self.ocsp = ocsp
        self.metrics = metrics
        metrics.startCountingPublication(issuers: crls.issuers.keys)
    }

    /// Largest OCSP request accepted; a request for 32 certificates is a few KiB.
    static let maxOCSPRequest = 64 * 1024

    package func add<Context: RequestContext>(to router: Router<Context>) {
        addOCSP(to: router)
        // Headers as GET's, Content-Length included, without the body.
        router.head("/crl/:file") { request, context in try await crl(request, context).createHeadResponse() }
        router.get("/crl/:file") { request, context in try await crl(request, context) }
    }

    private func crl<Context: RequestContext>(_ request: Request, _ context: Context) async throws -> Response {
        let file = try context.parameters.require("file")
        guard file.hasSuffix(".crl"), file.count > 4, file.count <= 68 else {
            return Self.text(.notFound, "not found: CRLs are served as /crl/{issuer}.crl")
        }
        let issuer = String(file.dropLast(4)).lowercased()
        let crl: CRLPublisher.Published?
        do {
            crl = try await crls.crl(issuer: issuer)
        } catch {
            metrics.recordCRL(issuer: issuer, result: .unavailable)
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
            metrics.recordCRL(issuer: issuer, result: .notModified, entries: crl.stamp.count)
            return Response(status: .notModified, headers: headers)
        }
        metrics.recordCRL(issuer: issuer, result: .served, entries: crl.stamp.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: crl.der)))
    }

    private func addOCSP<Context: RequestContext>(to router: Router<Context>) {
        router.post("/ocsp/:issuer") { request, context in
            let issuer = try context.parameters.require("issuer").lowercased()
            guard ocsp.knows(issuer: issuer) else { return Self.text(.notFound, "no issuer named \(issuer.prefix(64)) on this control plane") }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: Self.maxOCSPRequest)
            } catch {
                return ocspResponse(.failure(.malformedRequest), issuer: issuer, cacheable: false)
            }
            return ocspResponse(await ocsp.answer(Array(body.readableBytesView), issuer: issuer), issuer: issuer, cacheable: false)
        }
        // RFC 5019 §5: GET /ocsp/{issuer}/{url-encoded base64 of the DER request}; the base64 may hold '/'.
        router.get("/ocsp/:issuer/**") { request, context in
            let issuer = try context.parameters.require("issuer").lowercased()
            guard ocsp.knows(issuer: issuer) else { return Self.text(.notFound, "no issuer named \(issuer.prefix(64)) on this control plane") }
            let encoded = context.parameters.getCatchAll().joined(separator: "/")
            guard encoded.utf8.count <= Self.maxOCSPRequest * 2, let der = OCSP.requestDER(getPath: encoded) else {
                return ocspResponse(.failure(.malformedRequest), issuer: issuer, cacheable: false)
            }
            return ocspResponse(await ocsp.answer(der, issuer: issuer), issuer: issuer, cacheable: true)
        }
    }

    /// `application/ocsp-response`, counted; a GET answer that may be reused carries RFC 5019 caching headers.
    private func ocspResponse(_ answer: OCSPResponder.Answer, issuer: String, cacheable: Bool) -> Response {
        metrics.recordOCSP(issuer: issuer, result: answer.result)
        var headers: HTTPFields = [.contentType: "application/ocsp-response"]
        if cacheable, let producedAt = answer.producedAt, let nextUpdate = answer.nextUpdate {
            let maxAge = max(0, Int(nextUpdate.timeIntervalSinceNow))
            headers[.cacheControl] = "public, max-age=\(maxAge), no-transform, must-revalidate"
            headers[.lastModified] = Self.httpDate(producedAt)
            headers[.expires] = Self.httpDate(nextUpdate)
        } else {
            headers[.cacheControl] = "no-cache"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.der)))
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
