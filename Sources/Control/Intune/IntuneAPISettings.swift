import Crypto
import Foundation
import _CryptoExtras
import ScepterProtocol
import SwiftASN1
import X509

/// How the control plane reaches Microsoft for one `INTUNE_MODE=intune-api`
/// profile (SPEC §5.2, §9): the Entra app registration, its credential and
/// the cloud's base URLs.
package struct IntuneAPISettings: Sendable {
    /// How the app proves itself to Entra ID.
    package enum Credential: Sendable {
        /// `INTUNE_CLIENT_SECRET`.
        case secret(String)
        /// `INTUNE_CLIENT_CERT_PATH` + `INTUNE_CLIENT_KEY_PATH`: a JWT client
        /// assertion signed RS256, naming the certificate by `x5t#S256`.
        case certificate(der: [UInt8], key: _RSA.Signing.PrivateKey)
    }

    package var tenantID: String
    package var clientID: String
    package var credential: Credential
    /// Entra ID's base URL, no trailing slash (default `https://login.microsoftonline.com`).
    package var loginURL: String
    /// Microsoft Graph's base URL, no trailing slash (default `https://graph.microsoft.com`).
    package var graphURL: String
    /// Intune's resource URL; the token scope is this plus `/.default`, so the
    /// default `https://api.manage.microsoft.com/` gives Microsoft's literal
    /// `https://api.manage.microsoft.com//.default`.
    package var resourceURL: String
    /// Bound on each HTTP call to Microsoft.
    package var timeout: Duration

    package init(
        tenantID: String, clientID: String, credential: Credential, loginURL: String = IntuneAPISettings.defaultLoginURL,
        graphURL: String = IntuneAPISettings.defaultGraphURL, resourceURL: String = IntuneAPISettings.defaultResourceURL,
        timeout: Duration = .seconds(10)
    ) {
        self.tenantID = tenantID
        self.clientID = clientID
        self.credential = credential
        self.loginURL = Self.trimmed(loginURL)
        self.graphURL = Self.trimmed(graphURL)
        self.resourceURL = resourceURL
        self.timeout = timeout
    }

    package static let defaultLoginURL = "https://login.microsoftonline.com"
    package static let defaultGraphURL = "https://graph.microsoft.com"
    package static let defaultResourceURL = "https://api.manage.microsoft.com/"

    var tokenURL: String { "\(loginURL)/\(tenantID)/oauth2/v2.0/token" }
    var intuneScope: String { resourceURL + "/.default" }
    var graphScope: String { graphURL + "/.default" }

    /// Profiles with the same tenant, app and cloud share one client (one
    /// token cache, one breaker, one revocation download).
    var clientKey: String { [tenantID.lowercased(), clientID.lowercased(), loginURL, graphURL, resourceURL].joined(separator: "|") }

    private static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

extension IntuneAPISettings.Credential {
    /// The same secret, or the same certificate and key.
    func isSame(as other: Self) -> Bool {
        switch (self, other) {
        case (.secret(let mine), .secret(let theirs)):
            ConstantTime.equals(mine, theirs)
        case (.certificate(let mine, let myKey), .certificate(let theirs, let theirKey)):
            mine == theirs && myKey.derRepresentation == theirKey.derRepresentation
        default:
            false
        }
    }
}

/// Cluster-wide knobs of the Intune integration (SPEC §9).
package struct IntuneOptions: Sendable {
    /// `SCEPTER_INTUNE_REVOCATION_INTERVAL` (default 15 min); nil: no revocation polling.
    package var revocationInterval: Duration?
    /// `SCEPTER_INTUNE_BREAKER_THRESHOLD`: consecutive failed calls that open the breaker (default 5).
    package var breakerThreshold: Int
    /// `SCEPTER_INTUNE_BREAKER_COOLDOWN`: how long an open breaker refuses calls before one probe (default 30 s).
    package var breakerCooldown: Duration

    package init(revocationInterval: Duration? = .seconds(900), breakerThreshold: Int = 5, breakerCooldown: Duration = .seconds(30)) {
        self.revocationInterval = revocationInterval
        self.breakerThreshold = breakerThreshold
        self.breakerCooldown = breakerCooldown
    }
}

extension IntuneAPISettings {
    /// Reads a profile's `SCEPTER_PROFILE_<NAME>_INTUNE_*` control-plane
    /// variables; problems go to `settings`, each naming its variable.
    static func load(prefix: String, _ settings: inout Settings) -> IntuneAPISettings? {
        let tenant = settings.required(prefix + "INTUNE_TENANT_ID", "the Entra tenant (directory) id or domain of the Intune tenant")
        let client = settings.required(prefix + "INTUNE_CLIENT_ID", "the application (client) id of the Entra app registration")
        let secret = settings.secret(prefix + "INTUNE_CLIENT_SECRET")
        let certificatePath = settings.string(prefix + "INTUNE_CLIENT_CERT_PATH")
        let keyPath = settings.string(prefix + "INTUNE_CLIENT_KEY_PATH")
        var credential: Credential?
        switch (secret, certificatePath, keyPath) {
        case (.some(let secret), nil, nil):
            credential = .secret(secret)
        case (nil, .some(let certificatePath), .some(let keyPath)):
            credential = loadCertificate(certificatePath, keyPath, prefix: prefix, &settings)
        case (nil, nil, nil) where settings.environment[prefix + "INTUNE_CLIENT_SECRET_FILE"] != nil:
            break  // `secret` reported the unreadable or loose file
        case (nil, nil, nil):
            settings.problem(
                prefix + "INTUNE_CLIENT_SECRET",
                "is required, or INTUNE_CLIENT_CERT_PATH with INTUNE_CLIENT_KEY_PATH (the app registration's credential)")
        case (.some, _, _):
            settings.problem(prefix + "INTUNE_CLIENT_SECRET", "set either the client secret or the client certificate, not both")
        case (nil, .some, nil):
            settings.problem(prefix + "INTUNE_CLIENT_KEY_PATH", "is required with INTUNE_CLIENT_CERT_PATH (the certificate's RSA private key, mode 0600)")
        case (nil, nil, .some):
            settings.problem(prefix + "INTUNE_CLIENT_CERT_PATH", "is required with INTUNE_CLIENT_KEY_PATH (the certificate uploaded to the app registration)")
        }
        let login = url(prefix + "INTUNE_LOGIN_URL", default: defaultLoginURL, &settings)
        let graph = url(prefix + "INTUNE_GRAPH_URL", default: defaultGraphURL, &settings)
        let resource = url(prefix + "INTUNE_RESOURCE_URL", default: defaultResourceURL, &settings)
        let timeout = settings.duration(prefix + "INTUNE_TIMEOUT", default: .seconds(10))
        guard let tenant, let client, let credential else { return nil }
        return IntuneAPISettings(
            tenantID: tenant, clientID: client, credential: credential, loginURL: login, graphURL: graph, resourceURL: resource,
            timeout: timeout)
    }

    private static func url(_ name: String, default fallback: String, _ settings: inout Settings) -> String {
        guard let value = settings.string(name) else { return fallback }
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            settings.problem(name, "\"\(value)\" is not an http:// or https:// URL")
            return fallback
        }
        return value
    }

    private static func loadCertificate(_ certificatePath: String, _ keyPath: String, prefix: String, _ settings: inout Settings) -> Credential? {
        do throws(SecretFiles.Problem) {
            let certificatePEM = try SecretFiles.readPublic(at: certificatePath, setting: prefix + "INTUNE_CLIENT_CERT_PATH")
            let keyPEM = try SecretFiles.readSecret(at: keyPath, setting: prefix + "INTUNE_CLIENT_KEY_PATH")
            let certificate: Certificate
            do {
                certificate = try Certificate(pemEncoded: certificatePEM)
            } catch {
                settings.problem(prefix + "INTUNE_CLIENT_CERT_PATH", "\(certificatePath) holds no PEM certificate")
                return nil
            }
            let key: _RSA.Signing.PrivateKey
            do {
                key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
            } catch {
                settings.problem(prefix + "INTUNE_CLIENT_KEY_PATH", "\(keyPath) holds no RSA private key (Entra client assertions are RS256)")
                return nil
            }
            guard let publicKey = _RSA.Signing.PublicKey(certificate.publicKey), publicKey.derRepresentation == key.publicKey.derRepresentation
            else {
                settings.problem(prefix + "INTUNE_CLIENT_KEY_PATH", "\(keyPath) is not the private key of the certificate in \(certificatePath)")
                return nil
            }
            guard let der = try? certificate.derBytes else {
                settings.problem(prefix + "INTUNE_CLIENT_CERT_PATH", "\(certificatePath) cannot be re-encoded as DER")
                return nil
            }
            if let refusal = CertificateExpiry.refusal(certificate.notValidBefore...certificate.notValidAfter, now: Date()) {
                settings.problem(
                    prefix + "INTUNE_CLIENT_CERT_PATH",
                    "\(certificatePath) \(refusal): Entra refuses client assertions made with it; upload a new certificate to the app "
                        + "registration and point this at it")
                return nil
            }
            return .certificate(der: der, key: key)
        } catch {
            settings.problem(error.setting, error.message)
            return nil
        }
    }
}

extension IntuneOptions {
    /// Reads `SCEPTER_INTUNE_*` (SPEC §9).
    package static func load(_ settings: inout Settings) -> IntuneOptions {
        // A bare 0 turns polling off; any other value is a duration.
        let off = settings.string("SCEPTER_INTUNE_REVOCATION_INTERVAL")?.trimmingCharacters(in: .whitespaces) == "0"
        let interval = off ? Duration.zero : settings.duration("SCEPTER_INTUNE_REVOCATION_INTERVAL", default: .seconds(900))
        return IntuneOptions(
            revocationInterval: interval == .zero ? nil : interval,
            breakerThreshold: settings.integer("SCEPTER_INTUNE_BREAKER_THRESHOLD", default: 5, minimum: 1),
            breakerCooldown: settings.duration("SCEPTER_INTUNE_BREAKER_COOLDOWN", default: .seconds(30)))
    }
}

/// Never the secret or the key: a credential interpolated into a log line,
/// or reflected as part of the settings or a service holding them, says
/// which kind it is.
extension IntuneAPISettings.Credential: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        switch self {
        case .secret: "secret(set)"
        case .certificate: "certificate(with its key)"
        }
    }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .enum) }
}
