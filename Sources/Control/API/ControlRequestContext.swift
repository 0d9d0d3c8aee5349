import Hummingbird
import NIOCore
import NIOSSL

/// The control plane's request context: Hummingbird's basic one plus the
/// connection, so a route can ask whether its TLS peer presented a client
/// certificate (checked against `SCEPTER_CONTROL_CLIENT_CA_PATH` during the handshake).
package struct ControlRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Whether the connection's TLS peer presented a certificate that chains
    /// to the client CA (the handshake refuses one that does not).
    var hasClientCertificate: Bool {
        get async {
            (try? await channel.nioSSL_peerCertificate().get()) != nil
        }
    }
}

/// Refuses requests under `pathPrefix` from connections without a client
/// certificate: with mutual TLS on, only edges holding a certificate from the
/// client CA reach the internal API, whatever token they present.
package struct ClientCertificateMiddleware: RouterMiddleware {
    package typealias Context = ControlRequestContext
    let pathPrefix: String

    package init(pathPrefix: String) {
        self.pathPrefix = pathPrefix
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix(pathPrefix), await !context.hasClientCertificate else {
            return try await next(request, context)
        }
        return Response(
            status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: "a client certificate is required here (SCEPTER_CONTROL_CLIENT_CA_PATH)\n")))
    }
}
