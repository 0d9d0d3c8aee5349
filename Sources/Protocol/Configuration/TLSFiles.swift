/// A TLS identity and trust as files: a listener's certificate and key
/// (and the CA its clients must come from), or a client's.
///
/// Loading checks what can be checked without a TLS library: both halves
/// set or neither, files readable, the key owner-only. Each role turns the
/// files into a TLS context when it starts and again on SIGHUP.
public struct TLSFiles: Sendable, Hashable {
    /// PEM: the certificate, then its chain.
    public var certificatePath: String
    /// PEM private key, owner-only.
    public var keyPath: String
    /// Clients must present a certificate that chains to this PEM bundle
    /// (mutual TLS); nil: none is asked for.
    public var clientCAPath: String?

    public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
    }

    /// `certificate` and `key` name the variables; nil when neither is set.
    public static func load(_ settings: inout Settings, certificate: String, key: String, clientCA: String? = nil) -> TLSFiles? {
        let certificatePath = settings.string(certificate)
        let keyPath = settings.string(key)
        let clientCAPath = clientCA.flatMap { settings.string($0) }
        guard let certificatePath, let keyPath else {
            if certificatePath != nil { settings.problem(key, "is required when \(certificate) is set (the certificate's private key, PEM, owner-only)") }
            if keyPath != nil { settings.problem(certificate, "is required when \(key) is set (the certificate, PEM)") }
            if let clientCA, clientCAPath != nil { settings.problem(clientCA, "needs \(certificate) and \(key): mutual TLS needs TLS") }
            return nil
        }
        do throws(SecretFiles.Problem) {
            let pem = try SecretFiles.readPublic(at: certificatePath, setting: certificate)
            if !pem.contains("-----BEGIN CERTIFICATE-----") { settings.problem(certificate, "\(certificatePath) holds no PEM certificate") }
            let keyPEM = try SecretFiles.readPrivateKey(at: keyPath, setting: key)
            if !keyPEM.contains("PRIVATE KEY-----") { settings.problem(key, "\(keyPath) holds no PEM private key") }
            if let clientCA, let clientCAPath {
                let bundle = try SecretFiles.readPublic(at: clientCAPath, setting: clientCA)
                if !bundle.contains("-----BEGIN CERTIFICATE-----") { settings.problem(clientCA, "\(clientCAPath) holds no PEM certificate") }
            }
        } catch {
            settings.problem(error.setting, error.message)
        }
        return TLSFiles(certificatePath: certificatePath, keyPath: keyPath, clientCAPath: clientCAPath)
    }
}
