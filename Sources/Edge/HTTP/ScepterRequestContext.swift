import Hummingbird
import NIOCore

/// The request context of Scepter's HTTP servers: Hummingbird's basic context
/// plus the peer address, which goes into audit records.
package struct ScepterRequestContext: RequestContext, RemoteAddressRequestContext {
    package var coreContext: CoreRequestContextStorage
    package let remoteAddress: SocketAddress?

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// SCEP bodies are small; larger uploads are refused before they are read.
    package var maxUploadSize: Int { SCEPRoutes.maxBodySize }
}

extension RemoteAddressRequestContext {
    /// The peer's IP address without the port, for audit records.
    package var sourceAddress: String? {
        remoteAddress?.ipAddress
    }
}
