import Foundation
import Hummingbird
import Logging
import ScepterControl
import ScepterEdge
import ScepterProtocol
import ServiceLifecycle

/// Embedded mode assembled: the edge's SCEP surface wired to the control
/// plane's issuance in process, with SQLite and in-memory state. The same
/// code paths the cluster uses, minus the network.
package struct EmbeddedServer {
    package let router: Router<ScepterRequestContext>
    package let store: SQLiteStore
    package let files: DevelopmentFiles
    package let challenge: String
    package let adminToken: String
    package let metrics: EdgeMetrics
    package let configuration: EdgeConfiguration
    /// `SCEPTER_REQUEST_TIMEOUT`, `SCEPTER_MAX_CONNECTIONS`.
    package let limits: ListenerLimits
    /// Reloads Intune trust anchors on SIGHUP; run it as a service.
    package let reloader: TrustAnchorReloader
    /// Each `intune-api` profile's Intune client.
    package let intune: [String: IntuneClient]
    /// What runs beside the HTTP server: the reloader, the audit retention
    /// pruner and, with intune-api profiles, the Intune revocation poller.
    package let services: [any Service]

    /// Loads (creating on first run) the development PKI under `dataDir` and
    /// wires edge and control plane together.
    package static func make(
        dataDir: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger,
        databasePath: String? = nil
    ) async throws -> EmbeddedServer {
        // A database without the CA that issued its certificates (a restore that copied only scepter.db):
        // a new CA here would make every CRL, OCSP answer and renewal of those certificates fail.
        let database = databasePath ?? DevelopmentFiles(directory: dataDir).databasePath
        let caKey = DevelopmentFiles(directory: dataDir).caKeyPath
        if FileManager.default.fileExists(atPath: database), !FileManager.default.fileExists(atPath: caKey) {
            throw SecretFiles.Problem(
                setting: "dev CA key",
                message: "\(caKey) is missing but \(database) exists: restore the CA (ca.pem, ca.key) and the RA with the database "
                    + "(docs/storage.md, Backups), or start in an empty data directory")
        }
        let files = try DevelopmentFiles.prepare(in: dataDir)
        let store = try await SQLiteStore.open(path: databasePath ?? files.databasePath, logger: logger)
        try await store.migrate()

        let issuer = try LocalCA(
            name: "dev", certificatePEM: try SecretFiles.readPublic(at: files.caCertificatePath, setting: "dev CA certificate"),
            keyPEM: try SecretFiles.readSecret(at: files.caKeyPath, setting: "dev CA key"))
        let ra = RAIdentity(
            try CertificateKeyPair(
                certificatePEM: try SecretFiles.readPublic(at: files.raCertificatePath, setting: "dev RA certificate"),
                keyPEM: try SecretFiles.readSecret(at: files.raKeyPath, setting: "dev RA key")))
        // Files a failed first run (a full disk) can leave empty: an empty challenge or a short token would open the server.
        let challenge = try SecretFiles.readSecret(at: files.challengePath, setting: "dev challenge")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !challenge.isEmpty else {
            throw SecretFiles.Problem(setting: "dev challenge", message: "\(files.challengePath) is empty; delete it and start again for a new one")
        }
        let adminToken = try SecretFiles.readSecret(at: files.adminTokenPath, setting: "dev admin token")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let tokenProblem =
            adminToken.utf8.count < Settings.minimumTokenLength ? "holds \(adminToken.utf8.count) bytes; a token is at least \(Settings.minimumTokenLength)"
            : adminToken.contains(":") ? "holds a colon, which would make its first part a name" : nil
        if let tokenProblem {
            throw SecretFiles.Problem(setting: "dev admin token", message: "\(files.adminTokenPath) \(tokenProblem): delete it and start again for a new one")
        }

        // The dev profile, plus what SCEPTER_PROFILES adds (RA and issuer default to the dev ones).
        var settings = Settings(environment: environment)
        let envProfiles = EdgeConfiguration.loadProfiles(&settings, fallbacks: .init(ra: ra))
        // Every listed profile, so control-side problems show even where the edge side failed.
        let listedNames = settings.list("SCEPTER_PROFILES").map { $0.lowercased() }.filter(Settings.isValidName)
        // The dev CA rolls over like a named issuer (SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH).
        let devNextCA = ControlConfiguration.loadNextCA(of: issuer, &settings)
        let (controlProfiles, issuers) = ControlConfiguration.load(&settings, profileNames: listedNames, fallbackIssuer: (issuer, devNextCA))
        let intuneOptions = IntuneOptions.load(&settings)
        let tokens = BearerTokens.load(&settings, admin: ["dev:" + adminToken])
        let publicURL = settings.publicURL()
        let ocspSigner = settings.ocspSigner(for: [issuer] + issuers)
        let limits = ListenerLimits.load(&settings)
        let network = EdgeConfiguration.loadNetwork(&settings)
        let auditRetention = AuditRetention.load(&settings)
        limits.checkOpenFiles(listeners: 1, pools: [], &settings)
        if !settings.problems.isEmpty { throw ConfigurationError(settings.problems) }
        let devName = EdgeConfiguration.defaultProfileName
        let devEdge = EdgeConfiguration.Profile(name: devName, ra: ra, challengePassword: challenge)
        let devControl = ControlConfiguration.Profile(name: devName, issuer: issuer, policy: CertificateProfile(), nextCA: devNextCA)
        let replacesDefault = envProfiles.contains { $0.name == devName }
        let edgeProfiles = (replacesDefault ? [] : [devEdge]) + envProfiles
        let issuerProfiles = (controlProfiles.contains { $0.name == devName } ? [] : [devControl]) + controlProfiles

        let controlMetrics = ControlMetrics()
        // The dev CA stays served when no profile uses it any more (a rollover to a named issuer).
        let controlConfiguration = ControlConfiguration(
            profiles: issuerProfiles, issuers: [issuer] + issuers, intune: intuneOptions, publicURL: publicURL, ocspSigner: ocspSigner)
        let intune = controlConfiguration.intuneClients(metrics: controlMetrics, logger: logger)
        let issuance = IssuanceService(configuration: controlConfiguration, store: store, logger: logger, intune: intune)
        let edgeConfiguration = EdgeConfiguration(
            profiles: edgeProfiles, edgeID: "dev-\(ProcessInfo.processInfo.processIdentifier)", trustedProxies: network.trustedProxies,
            sourceRateLimit: network.sourceRateLimit)
        let metrics = EdgeMetrics()
        let now = Date()
        for warning in metrics.recordRACertificates(of: edgeConfiguration, now: now) + controlMetrics.recordCertificateExpiries(of: controlConfiguration, now: now)
            + edgeConfiguration.challengeCharacterWarnings
        {
            logger.warning("\(warning)")
        }
        metrics.startCounting(profiles: edgeConfiguration.profiles.keys)
        let handler = PKIOperationHandler(
            configuration: edgeConfiguration, issuance: issuance, audit: StoreAuditSink(store: store),
            state: InMemoryStateStore(), metrics: metrics, logger: logger)

        let router = Router(context: ScepterRequestContext.self)
        SCEPRoutes(configuration: edgeConfiguration, handler: handler, issuance: issuance).add(to: router)
        HealthRoutes(ready: { (true, "ready") }, metrics: { metrics.render() + controlMetrics.render() }).add(to: router)
        let reloader = TrustAnchorReloader(configuration: edgeConfiguration, metrics: metrics, logger: logger)
        let cluster = ProcessClusterView(reloader: reloader, configuration: edgeConfiguration)
        // The admin API on the same port, behind the dev admin token.
        AdminRoutes(
            store: store, cluster: cluster,
            profiles: edgeProfiles.map(\.name), tokens: tokens, intune: intune, logger: logger
        ).add(to: router)
        InventoryRoutes(store: store, configuration: controlConfiguration, cluster: cluster, tokens: tokens, logger: logger).add(to: router)
        OpenAPIDocument.add(to: router)
        ConsoleRoutes().add(to: router)
        PublicationRoutes(crls: issuance.crls, ocsp: issuance.ocsp, metrics: controlMetrics).add(to: router)
        return EmbeddedServer(
            router: router, store: store, files: files,
            challenge: replacesDefault ? "(set by SCEPTER_PROFILE_DEFAULT_*)" : challenge, adminToken: adminToken, metrics: metrics,
            configuration: edgeConfiguration, limits: limits, reloader: reloader, intune: intune,
            services: [reloader, IssuerContinuityCheck(configuration: controlConfiguration, store: store, metrics: controlMetrics, logger: logger)]
                + ControlServer.revocationPoller(
                    intune, options: intuneOptions, store: store, lease: ProcessLease(), metrics: controlMetrics, logger: logger)
                + AuditPruner.services(retention: auditRetention, store: store, lease: ProcessLease(), metrics: controlMetrics, logger: logger))
    }
}
