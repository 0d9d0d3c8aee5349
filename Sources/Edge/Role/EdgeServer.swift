import Foundation
import Hummingbird
import Logging
import ScepterProtocol
import ScepterRedis
import ServiceLifecycle

/// `scepter edge` assembled (SPEC §1, §3): the SCEP surface with every gate,
/// replay and rate-limit state and the audit stream in Redis, issuance by the
/// control plane over the internal API.
package struct EdgeServer {
    /// The role's settings beyond the profiles (SPEC §9).
    package struct Options: Sendable {
        package var listen: (host: String, port: Int)
        package var controlURL: String
        package var edgeToken: String
        /// `SCEPTER_EDGE_WAIT_BUDGET`: how long an enrollment waits for the control plane before PENDING.
        package var waitBudget: Duration
        /// `SCEPTER_SHUTDOWN_GRACE`: how long SIGTERM waits for in-flight requests.
        package var shutdownGrace: Duration
        /// `SCEPTER_REQUEST_TIMEOUT`, `SCEPTER_MAX_CONNECTIONS`.
        package var limits: ListenerLimits
        /// `SCEPTER_EDGE_TLS_CERT_PATH`/`_KEY_PATH`: HTTPS on the SCEP listener; nil: plain HTTP (TLS ends at a load balancer).
        package var tls: TLSFiles?
    }

    package let router: Router<ScepterRequestContext>
    /// `SCEPTER_EDGE_INTERNAL_LISTEN`: `/metrics` and `/readyz` with detail on
    /// a listener of their own (plain HTTP, for Prometheus and the kubelet);
    /// the public listener then says only ready or not and has no `/metrics`.
    package let internalListener: (router: Router<BasicRequestContext>, listen: (host: String, port: Int))?
    package let configuration: EdgeConfiguration
    package let options: Options
    /// Run beside the HTTP server, in this order (shut down in reverse).
    package let services: [any Service]
    package let metrics: EdgeMetrics

    /// Reads and checks the edge's configuration; throws `ConfigurationError`
    /// listing every problem, each naming its variable.
    package static func make(environment: [String: String], logger: Logger) throws -> EdgeServer {
        var settings = Settings(environment: environment)
        let profiles = EdgeConfiguration.loadProfiles(&settings)
        if settings.list("SCEPTER_PROFILES").isEmpty {
            settings.problem("SCEPTER_PROFILES", "is required (the SCEP profiles this edge serves, e.g. corp,wifi)")
        }
        let listen = settings.listenAddress("SCEPTER_EDGE_LISTEN", default: "0.0.0.0:8080")
        let controlURL = settings.httpURL("SCEPTER_CONTROL_URL", "the control plane's internal API, e.g. http://scepter-control:9000")
        let token = settings.bearerToken("SCEPTER_EDGE_TOKEN")
        if token == nil, settings.problems.allSatisfy({ !$0.variable.hasPrefix("SCEPTER_EDGE_TOKEN") }) {
            settings.problem("SCEPTER_EDGE_TOKEN", "is required (this edge's token for the control plane's /internal API)")
        }
        let redisConfiguration = settings.redis(for: "replay and rate-limit state and the audit stream")
        let waitBudget = settings.duration("SCEPTER_EDGE_WAIT_BUDGET", default: .seconds(5))
        if waitBudget < .seconds(1) {
            // The control plane notes a slow issuance in Redis after 250 ms (a CertPoll to another replica then answers PENDING).
            settings.problem("SCEPTER_EDGE_WAIT_BUDGET", "is \(waitBudget); it must be at least 1s, so an enrollment answered PENDING is already noted in flight for the other control plane replicas")
        }
        let shutdownGrace = settings.duration("SCEPTER_SHUTDOWN_GRACE", default: .seconds(25))
        let limits = ListenerLimits.load(&settings)
        let internalListen = settings.optionalListenAddress("SCEPTER_EDGE_INTERNAL_LISTEN")
        let network = EdgeConfiguration.loadNetwork(&settings)
        let tls = TLSFiles.load(&settings, certificate: "SCEPTER_EDGE_TLS_CERT_PATH", key: "SCEPTER_EDGE_TLS_KEY_PATH")
        let controlTLS = ControlPlaneClient.tlsConfiguration(&settings, controlURL: controlURL, listener: tls)
        if let client = controlTLS?.client, client == tls {
            logger.notice(
                "presenting this edge's listener certificate (SCEPTER_EDGE_TLS_CERT_PATH) to the control plane for mutual TLS, as read now: a renewed one reaches the control plane after a restart, not on SIGHUP",
                metadata: ["path": "\(client.certificatePath)"])
        }
        let controlConnections = settings.integer(
            "SCEPTER_EDGE_CONTROL_CONNECTIONS", default: ControlPlaneClient.defaultConnections, minimum: 1)
        limits.checkOpenFiles(
            listeners: internalListen == nil ? 1 : 2, pools: [("SCEPTER_EDGE_CONTROL_CONNECTIONS", controlConnections)], &settings)
        let edgeID = settings.string("SCEPTER_EDGE_ID") ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        guard settings.problems.isEmpty, let controlURL, let token, let redisConfiguration else {
            throw ConfigurationError(settings.problems)
        }

        let configuration = EdgeConfiguration(
            profiles: profiles, edgeID: edgeID, trustedProxies: network.trustedProxies, sourceRateLimit: network.sourceRateLimit)
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let state = RedisStateStore(client: redis)
        let control = ControlPlaneClient(
            baseURL: controlURL, token: token, profiles: profiles.map(\.name).sorted(), waitBudget: waitBudget,
            connections: controlConnections, tls: controlTLS?.configuration, logger: logger)
        let metrics = EdgeMetrics()
        for warning in metrics.recordRACertificates(of: configuration, now: Date()) + configuration.challengeCharacterWarnings {
            logger.warning("\(warning)")
        }
        metrics.startCounting(profiles: configuration.profiles.keys)
        let handler = PKIOperationHandler(
            configuration: configuration, issuance: control, audit: RedisAuditSink(client: redis), state: state,
            metrics: metrics, logger: logger)
        let router = Router(context: ScepterRequestContext.self)
        SCEPRoutes(configuration: configuration, handler: handler, issuance: control).add(to: router)
        let health = HealthRoutes(
            ready: {
                async let redisProblem = state.problem()
                async let controlProblem = control.unreadiness()
                let (redis, problem) = await (redisProblem, controlProblem)
                let detail = "redis \(redis.map { "DOWN (SCEPTER_REDIS_URL): \($0)" } ?? "up"), control plane \(problem.map { "DOWN: \($0)" } ?? "up")"
                return (redis == nil && problem == nil, detail)
            },
            metrics: { metrics.render() })
        var internalListener: (router: Router<BasicRequestContext>, listen: (host: String, port: Int))?
        if let internalListen {
            health.add(to: router, exposure: .statusOnly)
            let internalRouter = Router(context: BasicRequestContext.self)
            health.add(to: internalRouter)
            internalListener = (internalRouter, internalListen)
        } else {
            health.add(to: router)
        }
        let reloader = TrustAnchorReloader(
            configuration: configuration, metrics: metrics, logger: logger, alsoOnReload: { control.refreshSoon() })
        return EdgeServer(
            router: router, internalListener: internalListener, configuration: configuration,
            options: Options(
                listen: listen, controlURL: controlURL, edgeToken: token, waitBudget: waitBudget,
                shutdownGrace: shutdownGrace, limits: limits, tls: tls),
            services: [
                RedisClientService(client: redis), control, reloader,
                EdgeHeartbeatService(
                    client: redis, reloader: reloader, edgeID: edgeID, profiles: configuration.profileSettings, logger: logger),
            ],
            metrics: metrics)
    }
}
