import Foundation
import Hummingbird
import Logging
import ScepterControl
import ScepterEdge
import ScepterProtocol

/// Embedded mode assembled: the edge's SCEP surface wired to the control
/// plane's issuance in process, with SQLite and in-memory state. The same
/// code paths the cluster uses, minus the network.
public struct EmbeddedServer {
    public let router: Router<ScepterRequestContext>
    public let store: SQLiteStore
    public let files: DevelopmentFiles
    public let challenge: String
    public let adminToken: String
    public let metrics: EdgeMetrics

    /// Loads (creating on first run) the development PKI under `dataDir` and
    /// wires edge and control plane together.
    public static func make(dataDir: String, logger: Logger, databasePath: String? = nil) async throws -> EmbeddedServer {
        let files = try DevelopmentFiles.prepare(in: dataDir)
        let store = try await SQLiteStore.open(path: databasePath ?? files.databasePath, logger: logger)
        try await store.migrate()

        let issuer = try LocalCA(
            name: "dev", certificatePEM: try SecretFiles.readPublic(at: files.caCertificatePath, setting: "dev CA certificate"),
            keyPEM: try SecretFiles.readPrivateKey(at: files.caKeyPath, setting: "dev CA key"))
        let ra = RAIdentity(
            try CertificateKeyPair(
                certificatePEM: try SecretFiles.readPublic(at: files.raCertificatePath, setting: "dev RA certificate"),
                keyPEM: try SecretFiles.readPrivateKey(at: files.raKeyPath, setting: "dev RA key")))
        let challenge = try SecretFiles.readPrivateKey(at: files.challengePath, setting: "dev challenge")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let adminToken = try SecretFiles.readPrivateKey(at: files.adminTokenPath, setting: "dev admin token")
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let profileName = EdgeConfiguration.defaultProfileName
        let issuance = IssuanceService(
            configuration: ControlConfiguration(profiles: [.init(name: profileName, issuer: issuer, policy: CertificateProfile())]),
            store: store, logger: logger)
        let edgeConfiguration = EdgeConfiguration(
            profiles: [.init(name: profileName, ra: ra, challengePassword: challenge)],
            edgeID: "dev-\(ProcessInfo.processInfo.processIdentifier)")
        let metrics = EdgeMetrics()
        let handler = PKIOperationHandler(
            configuration: edgeConfiguration, issuance: issuance, audit: StoreAuditSink(store: store),
            state: InMemoryStateStore(), metrics: metrics, logger: logger)

        let router = Router(context: ScepterRequestContext.self)
        SCEPRoutes(configuration: edgeConfiguration, handler: handler, issuance: issuance).add(to: router)
        HealthRoutes(ready: { (true, "ready") }, metrics: { metrics.render() }).add(to: router)
        return EmbeddedServer(
            router: router, store: store, files: files, challenge: challenge, adminToken: adminToken, metrics: metrics)
    }
}
