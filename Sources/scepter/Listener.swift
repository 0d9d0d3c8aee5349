import Hummingbird
import HummingbirdCore
import Logging
import ScepterProtocol

/// Every role's HTTP listener: where it binds, how many connections it
/// serves at once and how long a client may take to send a request.
enum Listener {
    static func configuration(host: String, port: Int, limits: ListenerLimits, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: "scepter",
            availableConnectionsDelegate: .maximum(limits.maxConnections, logger: logger))
    }

    static func server(limits: ListenerLimits) -> HTTPServerBuilder {
        .http1(configuration: .init(additionalChannelHandlers: [RequestDeadlineHandler(timeout: limits.requestTimeout)]))
    }
}
