import Hummingbird
import NIOCore

/// The request context of Scepter's HTTP servers: Hummingbird's basic context
/// plus the peer address, which goes into audit records.
public struct ScepterRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// SCEP bodies are small; larger uploads are refused before they are read.
    public var maxUploadSize: Int { SCEPRoutes.maxBodySize }
}

extension RemoteAddressRequestContext {
    /// The peer's IP address without the port, for audit records.
    public var sourceAddress: String? {
        remoteAddress?.ipAddress
    }
}
