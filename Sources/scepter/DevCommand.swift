import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ScepterControl
import ScepterEdge
import ScepterProtocol

/// `scepter dev`: edge and control plane in one process, SQLite and
/// in-memory state, a development PKI created on first run.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Run everything in one process with a development CA (embedded mode).")

    @Option(help: "Where the development CA, RA, challenge, admin token and database live.")
    var dataDir = "./.scepter-dev"

    @Option(help: "TCP port for SCEP, the API and health endpoints.")
    var port = 8080

    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"

    func run() async throws {
        let logger = LogSetup.bootstrapFromEnvironment(label: "scepter.dev")
        let files = try DevelopmentFiles.prepare(in: dataDir)
        let store = try await SQLiteStore.open(path: files.databasePath, logger: logger)
        try await store.migrate()

        let issuer = try LocalCA(
            name: "dev", certificatePEM: try SecretFiles.readPublic(at: files.caCertificatePath, setting: "dev CA"),
            keyPEM: try SecretFiles.readPrivateKey(at: files.caKeyPath, setting: "dev CA"))
        let ra = RAIdentity(
            try RAIdentity.Pair(
                certificatePEM: try SecretFiles.readPublic(at: files.raCertificatePath, setting: "dev RA"),
                keyPEM: try SecretFiles.readPrivateKey(at: files.raKeyPath, setting: "dev RA")))
        let challenge = try SecretFiles.readPrivateKey(at: files.challengePath, setting: "dev challenge")
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

        let port = self.port
        let adminToken = try SecretFiles.readPrivateKey(at: files.adminTokenPath, setting: "dev admin token")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "scepter"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                StandardOutput.write(
                    """
                    Scepter \(ScepterVersion.string) is running in embedded mode (data in \(files.directory)).
                      SCEP URL:     http://127.0.0.1:\(bound)/scep  (profile "default", also /scep/default)
                      Challenge:    \(challenge)
                      CA:           \(files.caCertificatePath)
                      Admin token:  \(adminToken)  (API at http://127.0.0.1:\(bound)/api/v1)
                      Health:       http://127.0.0.1:\(bound)/healthz  Metrics: http://127.0.0.1:\(bound)/metrics
                    Stop with Ctrl-C.
                    """)
            },
            logger: logger)
        try await app.runService()
        try await store.close()
    }
}

/// The development PKI and secrets under the data directory, created on first run.
struct DevelopmentFiles {
    var directory: String
    var caCertificatePath: String { "\(directory)/ca.pem" }
    var caKeyPath: String { "\(directory)/ca.key" }
    var raCertificatePath: String { "\(directory)/ra.pem" }
    var raKeyPath: String { "\(directory)/ra.key" }
    var challengePath: String { "\(directory)/challenge" }
    var adminTokenPath: String { "\(directory)/admin-token" }
    var databasePath: String { "\(directory)/scepter.db" }

    static func prepare(in directory: String) throws -> DevelopmentFiles {
        let files = DevelopmentFiles(directory: directory)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: NSNumber(value: 0o700)])
        let manager = FileManager.default
        if !manager.fileExists(atPath: files.caCertificatePath) {
            let ca = try PKIBootstrap.makeRootCA(commonName: "Scepter Development CA", algorithm: .rsa)
            try SecretFiles.create(ca.keyPEM, at: files.caKeyPath, mode: 0o600)
            try SecretFiles.create(ca.certificatePEM, at: files.caCertificatePath, mode: 0o644)
        }
        if !manager.fileExists(atPath: files.raCertificatePath) {
            let ca = PKIBootstrap.Pair(
                certificatePEM: try SecretFiles.readPublic(at: files.caCertificatePath, setting: "dev CA"),
                keyPEM: try SecretFiles.readPrivateKey(at: files.caKeyPath, setting: "dev CA"))
            let ra = try PKIBootstrap.makeRA(commonName: "Scepter Development RA", ca: ca)
            try SecretFiles.create(ra.keyPEM, at: files.raKeyPath, mode: 0o600)
            try SecretFiles.create(ra.certificatePEM, at: files.raCertificatePath, mode: 0o644)
        }
        if !manager.fileExists(atPath: files.challengePath) {
            try SecretFiles.create(randomToken(bytes: 18) + "\n", at: files.challengePath, mode: 0o600)
        }
        if !manager.fileExists(atPath: files.adminTokenPath) {
            try SecretFiles.create(randomToken(bytes: 24) + "\n", at: files.adminTokenPath, mode: 0o600)
        }
        return files
    }

    /// URL-safe random text from the system CSPRNG.
    static func randomToken(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Base64.encode(raw).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
