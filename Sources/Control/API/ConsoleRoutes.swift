import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console (SPEC §10): static HTML, CSS and JavaScript from the
/// binary's resources at `/admin`, under a strict Content-Security-Policy.
/// The pages hold no secret: they ask for a token and call the admin API
/// with it, so serving them needs none.
package struct ConsoleRoutes: Sendable {
    struct File: Sendable {
        var bytes: ByteBuffer
        var contentType: String
    }

    /// The console's files by name, read once from the resources.
    static let files: [String: File] = {
        guard let directory = Bundle.module.url(forResource: "Console", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [:] }
        var files: [String: File] = [:]
        for name in names {
            guard let type = contentType(of: name), let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
            else { continue }
            files[name] = File(bytes: ByteBuffer(bytes: data), contentType: type)
        }
        return files
    }()

    static func contentType(of name: String) -> String? {
        switch (name as NSString).pathExtension {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }

    /// No inline script or style, nothing from elsewhere, never in a frame.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-store",
    ]

    package init() {}

    package func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/admin") { request, _ in Self.page(request) }
        router.get("/admin/:file") { _, context in Self.serve(try context.parameters.require("file")) }
        // HEAD answers as GET does, headers and Content-Length included, without the body.
        router.head("/admin") { request, _ in Self.page(request).createHeadResponse() }
        router.head("/admin/:file") { _, context in Self.serve(try context.parameters.require("file")).createHeadResponse() }
    }

    /// The page loads its files by relative path, so it must be at `/admin/`.
    static func page(_ request: Request) -> Response {
        guard request.uri.path.hasSuffix("/") else {
            var headers = securityHeaders
            headers[.location] = "/admin/"
            return Response(status: .seeOther, headers: headers)
        }
        return serve("index.html")
    }

    static func serve(_ name: String) -> Response {
        var headers = securityHeaders
        guard let file = files[name] else {
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .notFound, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "not found\n")))
        }
        headers[.contentType] = file.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: file.bytes))
    }
}
