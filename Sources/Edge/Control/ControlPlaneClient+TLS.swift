import NIOSSL
import ScepterProtocol

extension ControlPlaneClient {
    /// How the edge speaks TLS to an `https://` `SCEPTER_CONTROL_URL`: the
    /// control plane's certificate must chain to `SCEPTER_CONTROL_CA_PATH`
    /// (or the system's roots) and name its host. For mutual TLS the edge
    /// presents `SCEPTER_EDGE_CLIENT_CERT_PATH`/`_KEY_PATH`, or else its own
    /// listener's certificate (`listener`, SPEC §9: "the edge's own cert"),
    /// when the control plane asks for one. nil for `http://`, where the
    /// client variables may not be set. `client` is the identity presented.
    package static func tlsConfiguration(_ settings: inout Settings, controlURL: String?, listener: TLSFiles? = nil)
        -> (configuration: TLSConfiguration, client: TLSFiles?)?
    {
        let caPath = settings.string("SCEPTER_CONTROL_CA_PATH")
        let explicit = TLSFiles.load(&settings, certificate: "SCEPTER_EDGE_CLIENT_CERT_PATH", key: "SCEPTER_EDGE_CLIENT_KEY_PATH")
        guard let controlURL, controlURL.lowercased().hasPrefix("https://") else {
            for (variable, set) in [("SCEPTER_CONTROL_CA_PATH", caPath != nil), ("SCEPTER_EDGE_CLIENT_CERT_PATH", explicit != nil)] where set {
                settings.problem(variable, "is set but SCEPTER_CONTROL_URL is not https://; use https:// or remove it")
            }
            return nil
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caPath {
            do {
                // The file's own problem first (missing, unreadable): NIOSSL only says failedToLoadCertificate.
                _ = try SecretFiles.readPublic(at: caPath, setting: "SCEPTER_CONTROL_CA_PATH")
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
            } catch let problem as SecretFiles.Problem {
                settings.problem(problem.setting, problem.message)
            } catch {
                settings.problem("SCEPTER_CONTROL_CA_PATH", "\(caPath) holds no PEM certificate this edge can read: \(error)")
            }
        }
        let client = explicit ?? listener
        if let client {
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificatePath).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.keyPath, format: .pem))
            } catch {
                settings.problem(client.certificateSetting, "cannot use \(client.certificatePath) with \(client.keyPath): \(error)")
            }
        }
        return (configuration, client)
    }
}
