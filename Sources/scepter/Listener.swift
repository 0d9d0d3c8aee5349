import Hummingbird
import HummingbirdCore
import Logging
import ScepterProtocol

/// Every role's HTTP listener: where it binds, how many connections it
/// serves at once, how long a client may take to send a request, and
/// whether it speaks TLS.
enum Listener {
    static func configuration(host: String, port: Int, limits: ListenerLimits, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: "scepter",
            availableConnectionsDelegate: .maximum(limits.maxConnections, logger: logger))
    }

    static func http1(limits: ListenerLimits) -> HTTP1Channel.Configuration {
        .init(additionalChannelHandlers: [RequestDeadlineHandler(timeout: limits.requestTimeout)])
    }

    static func server(limits: ListenerLimits, tls: ServerTLS?) -> HTTPServerBuilder {
        tls?.server(limits: limits) ?? .http1(configuration: http1(limits: limits))
    }
}
