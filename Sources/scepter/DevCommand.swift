import ArgumentParser
import Hummingbird
import ScepterControl
import ScepterEdge
import ScepterEmbedded
import ScepterProtocol

/// `scepter dev`: edge and control plane in one process, SQLite and
/// in-memory state, a development PKI created on first run.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev", abstract: "Run everything in one process with a development CA (embedded mode).")

    @Option(help: "Where the development CA, RA, challenge, admin token and database live.")
    var dataDir = "./.scepter-dev"

    @Option(help: "TCP port for SCEP, the API and health endpoints (0: any free port).")
    var port = 8080

    @Option(help: "Address to listen on.")
    var host = "0.0.0.0"

    func run() async throws {
        let (logger, logProblems) = Scepter.beginServer(label: "scepter.dev")
        let variables = reviewVariables(.dev, printing: false, logger: logger)
        let server = try await preflight(after: logProblems + variables.problems) { try await EmbeddedServer.make(dataDir: dataDir, logger: logger) }
        let files = server.files
        let (challenge, adminToken) = (server.challenge, server.adminToken)
        let port = self.port
        let profiles = server.configuration.profiles.keys.sorted().map { "/scep/\($0)" }.joined(separator: " ")
        let app = Application(
            router: OnConnectionLoop(inner: server.router), server: Listener.server(limits: server.limits, tls: nil),
            configuration: Listener.configuration(host: host, port: port, limits: server.limits, logger: logger), services: server.services,
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                StandardOutput.write(
                    """
                    Scepter \(ScepterVersion.string) is running in embedded mode (data in \(files.directory)).
                      SCEP URL:     http://127.0.0.1:\(bound)/scep  (profile "default", also /scep/default)
                      Profiles:     \(profiles)
                      Challenge:    \(challenge)
                      CA:           \(files.caCertificatePath)
                      Console:      http://127.0.0.1:\(bound)/admin/  (sign in with the admin token)
                      Admin token:  \(adminToken)  (kept in \(files.adminTokenPath))
                      Health:       http://127.0.0.1:\(bound)/healthz  Metrics: http://127.0.0.1:\(bound)/metrics
                    Stop with Ctrl-C.
                    """)
            },
            logger: logger)
        try await app.runService()
        try await server.store.close()
    }
}
