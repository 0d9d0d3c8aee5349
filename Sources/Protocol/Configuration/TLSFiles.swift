/// A TLS identity and trust as files: a listener's certificate and key
/// (and the CA its clients must come from), or a client's.
///
/// Loading checks both halves set or neither, files readable, the key
/// owner-only and belonging to the certificate (OpenSSL), so a bad pair is a
/// preflight problem listed with the others. Each role turns the files into
/// a TLS context when it starts and again on SIGHUP.
public struct TLSFiles: Sendable, Hashable {
    /// PEM: the certificate, then its chain.
    public var certificatePath: String
    /// PEM private key, owner-only.
    public var keyPath: String
    /// Clients must present a certificate that chains to this PEM bundle
    /// (mutual TLS); nil: none is asked for.
    public var clientCAPath: String?
    /// The variable naming the certificate, for problems found when the files are used.
    public var certificateSetting: String

    public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil, certificateSetting: String = "") {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
        self.certificateSetting = certificateSetting
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
            let keyPEM = try SecretFiles.readSecret(at: keyPath, setting: key)
            if !keyPEM.contains("PRIVATE KEY-----") {
                settings.problem(key, "\(keyPath) holds no PEM private key")
            } else if let problem = Self.pairProblem(certificatePEM: pem, keyPEM: keyPEM, certificatePath: certificatePath, keyPath: keyPath) {
                settings.problem(key, problem)
            }
            if let clientCA, let clientCAPath {
                let bundle = try SecretFiles.readPublic(at: clientCAPath, setting: clientCA)
                if !bundle.contains("-----BEGIN CERTIFICATE-----") { settings.problem(clientCA, "\(clientCAPath) holds no PEM certificate") }
            }
        } catch {
            settings.problem(error.setting, error.message)
        }
        return TLSFiles(certificatePath: certificatePath, keyPath: keyPath, clientCAPath: clientCAPath, certificateSetting: certificate)
    }

    /// Why files that cannot serve TLS cannot (unreadable, a key group or
    /// others can read, a key that does not belong to the certificate).
    public struct Unusable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The certificate and key PEM as they are now, checked as at start. A
    /// SIGHUP builds its context from what this read, so a bad renewal is
    /// refused with the reason and a file replaced meanwhile is not used unchecked.
    public func read() throws(Unusable) -> (certificatePEM: String, keyPEM: String) {
        let pem: String
        let keyPEM: String
        do throws(SecretFiles.Problem) {
            pem = try SecretFiles.readPublic(at: certificatePath, setting: certificateSetting)
            keyPEM = try SecretFiles.readSecret(at: keyPath, setting: certificateSetting)
        } catch {
            throw Unusable(description: error.message)
        }
        if let problem = Self.pairProblem(certificatePEM: pem, keyPEM: keyPEM, certificatePath: certificatePath, keyPath: keyPath) {
            throw Unusable(description: problem)
        }
        return (pem, keyPEM)
    }

    /// Why the key cannot serve the first certificate of `certificatePEM`; nil when it can.
    static func pairProblem(certificatePEM: String, keyPEM: String, certificatePath: String, keyPath: String) -> String? {
        func problem(_ text: String) -> String { "\(keyPath) with \(certificatePath): \(text)" }
        guard let der = PEM.firstBlock(in: certificatePEM, label: "CERTIFICATE"), let certificate = try? OpenSSLCertificate(derEncoded: der) else {
            return problem("the certificate does not parse")
        }
        guard let key = try? OpenSSLKey(privateKeyPEM: keyPEM) else { return problem("the private key does not parse") }
        guard certificate.matches(key) else {
            _ = OpenSSL.drainErrors()
            return problem("the private key does not belong to the certificate")
        }
        return nil
    }
}
