import Foundation
import ScepterProtocol

extension EdgeConfiguration {
    /// A signed-challenge profile's compliance webhook (gate 9): nil when
    /// `INTUNE_COMPLIANCE_URL` is unset. The URL must be `https://`, or
    /// `http://` to a loopback host; `INTUNE_COMPLIANCE_SECRET` (or its
    /// owner-only `_FILE`), when set, signs each request and must be at
    /// least 32 bytes.
    static func loadCompliance(prefix: String, _ settings: inout Settings) -> ComplianceHook? {
        let urlVariable = prefix + "INTUNE_COMPLIANCE_URL"
        let secretVariable = prefix + "INTUNE_COMPLIANCE_SECRET"
        let secret = settings.secret(secretVariable)
        guard let url = settings.string(urlVariable) else {
            if secret != nil {
                settings.problem(secretVariable, "is set but \(urlVariable) is not: there is no webhook request to sign")
            }
            return nil
        }
        var signature: ComplianceSignature?
        if let secret {
            if secret.utf8.count < ComplianceSignature.minimumSecretBytes {
                settings.problem(
                    secretVariable,
                    "is \(secret.utf8.count) bytes; an HMAC secret must be at least \(ComplianceSignature.minimumSecretBytes) (e.g. openssl rand -hex 32)")
            } else {
                signature = ComplianceSignature(secret: Array(secret.utf8))
            }
        }
        let timeout = settings.duration(prefix + "INTUNE_COMPLIANCE_TIMEOUT", default: .seconds(5))
        let components = URLComponents(string: url)
        guard let components, let scheme = components.scheme, scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            settings.problem(urlVariable, "\"\(url)\" is not an http:// or https:// URL")
            return nil
        }
        guard scheme == "https" || LoopbackHost.contains(host) else {
            settings.problem(
                urlVariable,
                "\"\(url)\" would send device identities in clear over the network; use https:// (http:// only to a loopback host: localhost, 127.0.0.0/8, ::1)")
            return nil
        }
        guard secret == nil || signature != nil else { return nil }
        return ComplianceHook(url: url, timeout: timeout, signature: signature)
    }
}
