import Foundation
import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.yaml`: the contract the admin API is tested against (public, like the routes' shapes).
package enum OpenAPIDocument {
    package static let path = "/api/v1/openapi.yaml"

    /// The document shipped in the binary's resources.
    package static let text: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.1.0\ninfo: {title: Scepter, version: unknown}\npaths: {}\n" }
        return text
    }()

    package static func add<Context: RequestContext>(to router: Router<Context>) {
        router.get(RouterPath(path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
