import Foundation
import Logging
import ScepterControl
import ScepterEdge
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting
import Testing

/// `KnownVariables` against what the loaders actually ask `Settings` for.
@Suite("Known variables: the catalog is what the loaders read", .timeLimit(.minutes(5)))
struct KnownVariablesReadTests {
    /// A configuration of every role that takes each branch that reads
    /// variables: a signed-challenge profile with a compliance webhook, an
    /// intune-api profile, an issuer with a chain and a successor, TLS
    /// everywhere. One value is refused on purpose (`SCEPTER_REQUEST_TIMEOUT`).
    static func fullEnvironment(in directory: URL) throws -> [String: String] {
        func write(_ text: String, _ name: String, mode: Int = 0o644) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try SecretFiles.create(text, at: path, mode: mode)
            return path
        }
        let ca = try TestPKI.makeCA(commonName: "Read CA")
        let next = try TestPKI.makeCA(commonName: "Next CA", keyUnlike: ca)
        let ra = try TestPKI.makeLeaf(commonName: "Read RA", issuer: ca)
        let connector = try TestConnector(.rsa, commonName: "Connector", notBefore: Date().addingTimeInterval(-60), notAfter: Date().addingTimeInterval(86_400))
        let caPath = try write(ca.certificatePEM, "ca.pem")
        let caKey = try write(ca.keyPEM, "ca.key", mode: 0o600)
        let nextPath = try write(next.certificatePEM, "next.pem")
        let raPath = try write(ra.certificatePEM, "ra.pem")
        let raKey = try write(ra.keyPEM, "ra.key", mode: 0o600)
        let connectorPath = try write(connector.pem, "connectors.pem")
        let token = String(repeating: "t", count: 32)
        var environment: [String: String] = [
            "SCEPTER_PROFILES": "signed,api", "SCEPTER_ISSUERS": "main",
            "SCEPTER_ISSUER_MAIN_TYPE": "local", "SCEPTER_ISSUER_MAIN_CA_CERT_PATH": caPath, "SCEPTER_ISSUER_MAIN_CA_KEY_PATH": caKey,
            "SCEPTER_ISSUER_MAIN_CHAIN_PATH": caPath, "SCEPTER_ISSUER_MAIN_NEXT_CA_CERT_PATH": nextPath,
            "SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH": nextPath,
            "SCEPTER_PUBLIC_URL": "https://pki.example", "SCEPTER_OCSP_SIGNER": "ca",
            "SCEPTER_ADMIN_TOKENS": token, "SCEPTER_VIEWER_TOKENS": "viewer:" + token, "SCEPTER_EDGE_TOKEN": token,
            "SCEPTER_EDGE_TOKENS": "edge-a:" + token, "SCEPTER_EDGE_PROFILES": "edge-a:signed|api",
            "SCEPTER_EDGE_LISTEN": "127.0.0.1:0", "SCEPTER_CONTROL_LISTEN": "127.0.0.1:0",
            "SCEPTER_EDGE_INTERNAL_LISTEN": "127.0.0.1:0", "SCEPTER_CONTROL_INTERNAL_LISTEN": "127.0.0.1:0",
            "SCEPTER_CONTROL_URL": "https://control.example:9000", "SCEPTER_EDGE_ID": "edge-a", "SCEPTER_CONTROL_ID": "control-a",
            "SCEPTER_REDIS_URL": "rediss://127.0.0.1:9/0", "SCEPTER_REDIS_CA_PATH": caPath,
            "SCEPTER_DATABASE_URL": "postgres://scepter@127.0.0.1:9/scepter",
            "SCEPTER_EDGE_TLS_CERT_PATH": raPath, "SCEPTER_EDGE_TLS_KEY_PATH": raKey,
            "SCEPTER_CONTROL_TLS_CERT_PATH": raPath, "SCEPTER_CONTROL_TLS_KEY_PATH": raKey, "SCEPTER_CONTROL_CLIENT_CA_PATH": caPath,
            "SCEPTER_CONTROL_CA_PATH": caPath, "SCEPTER_EDGE_CLIENT_CERT_PATH": raPath, "SCEPTER_EDGE_CLIENT_KEY_PATH": raKey,
            "SCEPTER_EDGE_WAIT_BUDGET": "5s", "SCEPTER_EDGE_CONTROL_CONNECTIONS": "8", "SCEPTER_SHUTDOWN_GRACE": "5s",
            "SCEPTER_TRUSTED_PROXIES": "10.0.0.0/8", "SCEPTER_SOURCE_RATE_LIMIT": "100",
            // Too short: a problem every role reports only once it has read everything, so none builds the
            // clients (HTTP, Intune) that would need shutting down.
            "SCEPTER_REQUEST_TIMEOUT": "0s",
            "SCEPTER_MAX_CONNECTIONS": "16", "SCEPTER_TASK_EXECUTOR": "pool", "SCEPTER_AUDIT_RETENTION": "400d",
            "SCEPTER_INTUNE_REVOCATION_INTERVAL": "15m", "SCEPTER_INTUNE_BREAKER_THRESHOLD": "5", "SCEPTER_INTUNE_BREAKER_COOLDOWN": "30s",
        ]
        for (suffix, value) in [
            ("ISSUER", "main"), ("CHALLENGE_PASSWORD", "static"), ("RA_CERT_PATH", raPath), ("RA_KEY_PATH", raKey),
            ("CERT_VALIDITY", "30d"), ("MAX_VALIDITY", "60d"), ("ALLOWED_EKUS", "clientAuth"), ("MIN_RSA_BITS", "2048"),
            ("KEY_USAGE", "digitalSignature"), ("ALLOWED_SAN_TYPES", "dns"), ("RENEWAL_LIMIT", "3"),
            ("INTUNE_MODE", "signed-challenge"), ("INTUNE_CONNECTOR_CERT_PATH", connectorPath), ("INTUNE_AUDIENCE", "https://scep.example"),
            ("INTUNE_CHALLENGE_VALIDITY", "60m"), ("INTUNE_CLOCK_SKEW", "60s"), ("INTUNE_RATE_LIMIT", "3"),
            ("INTUNE_COMPLIANCE_URL", "https://compliance.example"), ("INTUNE_COMPLIANCE_SECRET", String(repeating: "s", count: 32)),
            ("INTUNE_COMPLIANCE_TIMEOUT", "5s"),
        ] {
            environment["SCEPTER_PROFILE_SIGNED_" + suffix] = value
        }
        for (suffix, value) in [
            ("ISSUER", "main"), ("RA_CERT_PATH", raPath), ("RA_KEY_PATH", raKey), ("INTUNE_MODE", "intune-api"),
            ("RA_ENCRYPTION_CERT_PATH", raPath), ("RA_ENCRYPTION_KEY_PATH", raKey),
            ("INTUNE_TENANT_ID", "contoso.onmicrosoft.com"), ("INTUNE_CLIENT_ID", "app"), ("INTUNE_CLIENT_SECRET", "secret"),
            ("INTUNE_LOGIN_URL", "https://login.example"), ("INTUNE_GRAPH_URL", "https://graph.example"),
            ("INTUNE_RESOURCE_URL", "https://intune.example/"), ("INTUNE_TIMEOUT", "10s"),
        ] {
            environment["SCEPTER_PROFILE_API_" + suffix] = value
        }
        return environment
    }

    @Test("Every SCEPTER_ name the edge, control and dev loaders ask for is in the catalog, as it reads it, and the reverse")
    func loadersReadTheCatalog() async throws {
        let directory = try Shell.temporaryDirectory()
        let environment = try Self.fullEnvironment(in: directory)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = Settings.ReadLog()
        await Settings.$readLog.withValue(log) {
            #expect(throws: ConfigurationError.self) { try EdgeServer.make(environment: environment, logger: logger) }
            #expect(throws: ConfigurationError.self) { try ControlServer.make(environment: environment, logger: logger) }
            var settings = Settings(environment: environment)
            _ = ThreadLayout.load(&settings, counted: 2, allowed: 2)
            let dataDirectory = directory.appendingPathComponent("dev").path
            await #expect(throws: ConfigurationError.self) {
                try await EmbeddedServer.make(dataDir: dataDirectory, environment: environment, logger: logger)
            }
        }
        let read = log.read.filter { $0.key.hasPrefix("SCEPTER_") }
        var settingsRead: Set<String> = []
        for (name, withFile) in read.sorted(by: { $0.key < $1.key }) {
            let matches = KnownVariables.matches(name)
            #expect(!matches.isEmpty, "\(name) is read but not in KnownVariables")
            for match in matches.prefix(1) {
                let (setting, key): (KnownVariables.Setting, String) =
                    switch match {
                    case .global(let setting): (setting, setting.name)
                    case .profile(_, let setting): (setting, "SCEPTER_PROFILE_<NAME>_" + setting.name)
                    case .issuer(_, let setting): (setting, "SCEPTER_ISSUER_<NAME>_" + setting.name)
                    }
                #expect(setting.acceptsFile == withFile, "\(name): read \(withFile ? "with" : "without") its _FILE, catalogued the other way")
                settingsRead.insert(key)
            }
        }
        // The two log variables are read by the scepter target: ScepterCommandTests' LogSetup test covers them.
        let catalog = Set(
            KnownVariables.globals.map(\.name) + KnownVariables.profileSuffixes.map { "SCEPTER_PROFILE_<NAME>_\($0.name)" }
                + KnownVariables.issuerSuffixes.map { "SCEPTER_ISSUER_<NAME>_\($0.name)" })
        #expect(catalog.subtracting(settingsRead).subtracting(["SCEPTER_LOG_LEVEL", "SCEPTER_LOG_FORMAT"]).sorted() == [], "catalogued but never read")
    }
}
