import Foundation
import Hummingbird
import Logging
import NIOCore
import ScepterProtocol
import ScepterRedis
import ServiceLifecycle

/// `scepter control` assembled (SPEC §1, §7, §8): the issuers, the PostgreSQL
/// store, the internal API for edges, the audit-stream consumer and the
/// admin API.
package struct ControlServer {
    package struct Options: Sendable {
        package var listen: (host: String, port: Int)
        /// `SCEPTER_SHUTDOWN_GRACE`: how long SIGTERM waits for in-flight requests.
        package var shutdownGrace: Duration
        /// Names this replica in the audit consumer group (`SCEPTER_CONTROL_ID`, default the host name).
        package var controlID: String
        /// `SCEPTER_REQUEST_TIMEOUT`, `SCEPTER_MAX_CONNECTIONS`.
        package var limits: ListenerLimits
        /// `SCEPTER_CONTROL_TLS_CERT_PATH`/`_KEY_PATH` (and `SCEPTER_CONTROL_CLIENT_CA_PATH`
        /// for edges' client certificates); nil: plain HTTP (TLS by a mesh).
        package var tls: TLSFiles?
    }

    package let router: Router<ControlRequestContext>
    /// `SCEPTER_CONTROL_INTERNAL_LISTEN`: `/metrics` and `/readyz` with detail
    /// on a plain-HTTP listener of their own; the main listener then says
    /// only ready or not and has no `/metrics`.
    package let internalListener: (router: Router<BasicRequestContext>, listen: (host: String, port: Int))?
    package let store: PostgresStore
    package let metrics: ControlMetrics
    package let options: Options
    /// Run beside the HTTP server, in this order (shut down in reverse: the store last).
    package let services: [any Service]

    /// Reads and checks the control plane's configuration; throws
    /// `ConfigurationError` listing every problem, each naming its variable.
    package static func make(environment: [String: String], logger: Logger) throws -> ControlServer {
        var settings = Settings(environment: environment)
        let names = settings.list("SCEPTER_PROFILES").map { $0.lowercased() }
        if names.isEmpty { settings.problem("SCEPTER_PROFILES", "is required (the SCEP profiles, e.g. corp,wifi)") }
        for name in names where !Settings.isValidName(name) {
            settings.problem("SCEPTER_PROFILES", "\"\(name)\" is not a valid profile name (letters, digits and dashes)")
        }
        let (profiles, issuers) = ControlConfiguration.load(&settings, profileNames: names.filter(Settings.isValidName))
        let listen = settings.listenAddress("SCEPTER_CONTROL_LISTEN", default: "0.0.0.0:9000")
        // Fail well within an edge's wait budget (5 s by default): a database
        // that is down must read as 503 (retry), not as PENDING for a job
        // that was never accepted. `connect_timeout` in the URL overrides it.
        let database = settings.postgres(defaultConnectTimeout: .seconds(2))
        let edgeTokens = BearerTokens.edgeTokens(&settings)
        let tokens = BearerTokens.load(&settings, edge: edgeTokens)
        let edgeProfiles = EdgeProfiles.load(
            &settings, edges: Set(edgeTokens.compactMap { BearerTokens.split($0).name }), profiles: Set(profiles.map(\.name)))
        let redisConfiguration = settings.redis(for: "the edges' audit stream, heartbeats and reload channel")
        let shutdownGrace = settings.duration("SCEPTER_SHUTDOWN_GRACE", default: .seconds(25))
        let limits = ListenerLimits.load(&settings)
        let internalListen = settings.optionalListenAddress("SCEPTER_CONTROL_INTERNAL_LISTEN")
        let tls = TLSFiles.load(
            &settings, certificate: "SCEPTER_CONTROL_TLS_CERT_PATH", key: "SCEPTER_CONTROL_TLS_KEY_PATH", clientCA: "SCEPTER_CONTROL_CLIENT_CA_PATH")
        let controlID = settings.string("SCEPTER_CONTROL_ID") ?? ProcessInfo.processInfo.hostName
        let intuneOptions = IntuneOptions.load(&settings)
        let publicURL = settings.publicURL()
        let ocspSigner = settings.ocspSigner(for: issuers)
        let auditRetention = AuditRetention.load(&settings)
        limits.checkOpenFiles(
            listeners: internalListen == nil ? 1 : 2, pools: database.map { [("the PostgreSQL pool", $0.maximumConnections)] } ?? [], &settings)
        guard settings.problems.isEmpty, let database, let redisConfiguration else { throw ConfigurationError(settings.problems) }

        if let warning = database.unverifiedServerWarning { logger.warning("\(warning)") }
        let store = PostgresStore(configuration: database, logger: logger)
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let metrics = ControlMetrics()
        let configuration = ControlConfiguration(profiles: profiles, issuers: issuers, intune: intuneOptions, publicURL: publicURL, ocspSigner: ocspSigner)
        for warning in metrics.recordCertificateExpiries(of: configuration, now: Date()) { logger.warning("\(warning)") }
        let intune = configuration.intuneClients(metrics: metrics, logger: logger)
        let issuance = IssuanceService(
            configuration: configuration, store: store, logger: logger,
            replicas: RedisInFlightRegistry(client: redis, replicaID: controlID, logger: logger), intune: intune)
        let consumer = AuditStreamConsumer(
            client: RedisClient(configuration: redisConfiguration, logger: logger), store: store, consumer: controlID,
            metrics: metrics, logger: logger)

        let router = Router(context: ControlRequestContext.self)
        // With SCEPTER_CONTROL_CLIENT_CA_PATH, the internal API needs an edge's client certificate.
        if tls?.clientCAPath != nil { router.add(middleware: ClientCertificateMiddleware(pathPrefix: "/internal/")) }
        InternalRoutes(issuance: issuance, tokens: tokens, edgeProfiles: edgeProfiles, metrics: metrics, logger: logger).add(to: router)
        let cluster = RedisClusterView(redis: redis, logger: logger)
        AdminRoutes(store: store, cluster: cluster, profiles: profiles.map(\.name), tokens: tokens, intune: intune, logger: logger).add(to: router)
        InventoryRoutes(store: store, configuration: configuration, cluster: cluster, tokens: tokens, logger: logger).add(to: router)
        OpenAPIDocument.add(to: router)
        ConsoleRoutes().add(to: router)
        PublicationRoutes(crls: issuance.crls, ocsp: issuance.ocsp, metrics: metrics).add(to: router)
        @Sendable func addHealth<Context: RequestContext>(to router: Router<Context>, detailed: Bool) {
            router.get("/healthz") { _, _ in Response.plain("ok", status: .ok) }
            router.get("/readyz") { _, _ in
                async let databaseProblem = ReadinessDeadline.answer { await store.problem() }
                // Reconnecting takes Redis's connect timeout, longer than the PING's.
                async let redisProblem = ReadinessDeadline.answer { await redis.problem(timeout: ReadinessDeadline.limit) }
                let (databaseAnswer, redisAnswer) = await (databaseProblem, redisProblem)
                let late = "no answer within \(ReadinessDeadline.limit)"
                let databaseDown: String? = databaseAnswer ?? late + " (a database that stopped answering holds a connection attempt for its connect_timeout)"
                let redisDown: String? = redisAnswer ?? late
                let databaseOK = databaseDown == nil
                let detail = "database \(databaseDown.map { "DOWN (SCEPTER_DATABASE_URL): \($0)" } ?? "up"), redis \(redisDown.map { "DOWN (SCEPTER_REDIS_URL): \($0)" } ?? "up")"
                // Issuance needs only the database; the audit stream waits in Redis.
                return Response.plain(detailed ? detail : (databaseOK ? "ready" : "not ready"), status: databaseOK ? .ok : .serviceUnavailable)
            }
            guard detailed else { return }
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
            }
        }
        var internalListener: (router: Router<BasicRequestContext>, listen: (host: String, port: Int))?
        if let internalListen {
            addHealth(to: router, detailed: false)
            let internalRouter = Router(context: BasicRequestContext.self)
            addHealth(to: internalRouter, detailed: true)
            internalListener = (internalRouter, internalListen)
        } else {
            addHealth(to: router, detailed: true)
        }
        return ControlServer(
            router: router, internalListener: internalListener, store: store, metrics: metrics,
            options: Options(listen: listen, shutdownGrace: shutdownGrace, controlID: controlID, limits: limits, tls: tls),
            services: [
                store, OnlineIndexBuilder(store: store), RedisClientService(client: redis), consumer,
                IssuerContinuityCheck(configuration: configuration, store: store, metrics: metrics, logger: logger),
            ] + revocationPoller(
                intune, options: intuneOptions, store: store, lease: RedisLease(client: redis, owner: controlID, logger: logger),
                metrics: metrics, logger: logger)
                + AuditPruner.services(
                    retention: auditRetention, store: store, lease: RedisLease(client: redis, owner: controlID, logger: logger),
                    metrics: metrics, logger: logger))
    }

    /// The Intune revocation poller, when a profile uses intune-api and polling is on.
    package static func revocationPoller(
        _ intune: [String: IntuneClient], options: IntuneOptions, store: any ControlStore, lease: any ClusterLease, metrics: ControlMetrics,
        logger: Logger
    ) -> [any Service] {
        guard !intune.isEmpty, let interval = options.revocationInterval else { return [] }
        return [IntuneRevocationPoller(clients: intune, store: store, lease: lease, interval: interval, metrics: metrics, logger: logger)]
    }
}
