import Crypto
import Foundation
import NIOHTTP1
import Logging
import Synchronization
import _CryptoExtras
import ScepterProtocol

/// Entra ID client-credentials tokens for one app registration, one per
/// scope, cached until five minutes before they expire. Tokens are never logged.
final class EntraTokens: Sendable {
    private struct Cached {
        var token: String
        var refreshAt: ContinuousClock.Instant
    }

    let settings: IntuneAPISettings
    let http: MicrosoftHTTP
    let logger: Logger
    let metrics: ControlMetrics?
    private let cache = Mutex<[String: Cached]>([:])

    init(settings: IntuneAPISettings, http: MicrosoftHTTP, metrics: ControlMetrics?, logger: Logger) {
        self.settings = settings
        self.http = http
        self.metrics = metrics
        self.logger = logger
    }

    /// A valid token for `scope`, from the cache or freshly requested.
    func token(for scope: String) async throws(IntuneAPIError) -> String {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[scope] }), cached.refreshAt > now { return cached.token }
        return try await refresh(scope)
    }

    /// Drops a token a service refused (401), so the next `token(for:)` asks Entra again.
    func invalidate(_ scope: String, token: String) {
        cache.withLock { cache in
            if cache[scope]?.token == token { cache[scope] = nil }
        }
    }

    private func refresh(_ scope: String) async throws(IntuneAPIError) -> String {
        let answer = try await Retry.transient(call: .token) { () async throws(IntuneAPIError) in
            let body = try self.form(scope: scope)
            let answer: MicrosoftHTTP.Answer
            do {
                answer = try await self.http.send(
                    .POST, self.settings.tokenURL, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body,
                    timeout: self.settings.timeout)
            } catch {
                throw IntuneAPIError(.unreachable, call: .token, "Entra ID at \(self.settings.loginURL) did not answer: \(error)")
            }
            return try self.check(answer)
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let token = json["access_token"] as? String, !token.isEmpty
        else {
            throw IntuneAPIError(.badAnswer, call: .token, "Entra ID answered \(answer.status) without an access_token (\(answer.contentType))")
        }
        let lifetime = (json["expires_in"] as? Int) ?? Int((json["expires_in"] as? String) ?? "") ?? 3599
        // Refresh five minutes early; a short-lived token is still used once.
        let usable = Duration.seconds(max(0, lifetime - 300))
        cache.withLock { $0[scope] = Cached(token: token, refreshAt: .now + usable) }
        metrics?.recordTokenRefresh(scope: scope == settings.graphScope ? "graph" : "intune")
        logger.debug("Entra token obtained", metadata: ["scope": "\(scope)", "expires_in": "\(lifetime)"])
        return token
    }

    /// 2xx passes; Entra's `error`/`error_description` become the operator's message.
    private func check(_ answer: MicrosoftHTTP.Answer) throws(IntuneAPIError) -> MicrosoftHTTP.Answer {
        switch answer.status {
        case 200..<300:
            return answer
        case 429, 500...:
            let code: IntuneAPIError.Code =
                answer.status == 429 || answer.retryAfter != nil ? .throttled(retryAfter: answer.retryAfter) : .serverError(status: answer.status)
            throw IntuneAPIError(code, call: .token, "Entra ID answered \(answer.status)")
        default:
            let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            let error = json?["error"] as? String ?? "HTTP \(answer.status)"
            let description = (json?["error_description"] as? String).map { $0.split(separator: "\r\n").first.map(String.init) ?? $0 } ?? answer.excerpt
            throw IntuneAPIError(
                .refused(status: answer.status), call: .token,
                "Entra ID refused the app registration \(settings.clientID) in tenant \(settings.tenantID) (\(error): \(description)); "
                    + "check INTUNE_TENANT_ID, INTUNE_CLIENT_ID and the client secret or certificate")
        }
    }

    private func form(scope: String) throws(IntuneAPIError) -> [UInt8] {
        var fields = [("grant_type", "client_credentials"), ("client_id", settings.clientID), ("scope", scope)]
        switch settings.credential {
        case .secret(let secret):
            fields.append(("client_secret", secret))
        case .certificate(let der, let key):
            fields.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            fields.append(("client_assertion", try ClientAssertion.make(settings: settings, certificateDER: der, key: key)))
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let encoded = fields.map { name, value in
            "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }
        return Array(encoded.joined(separator: "&").utf8)
    }
}

/// The signed JWT that proves possession of the app's certificate to Entra
/// ID: RS256, `x5t#S256` = SHA-256 of the certificate, audience = the token
/// endpoint, valid ten minutes.
enum ClientAssertion {
    static func make(
        settings: IntuneAPISettings, certificateDER: [UInt8], key: _RSA.Signing.PrivateKey, now: Date = Date()
    ) throws(IntuneAPIError) -> String {
        let header: [String: Any] = [
            "alg": "RS256", "typ": "JWT", "x5t#S256": base64url(Array(SHA256.hash(data: certificateDER))),
        ]
        let issued = Int(now.timeIntervalSince1970)
        let payload: [String: Any] = [
            "aud": settings.tokenURL, "iss": settings.clientID, "sub": settings.clientID, "jti": SystemRandom.identifier(),
            "nbf": issued, "iat": issued, "exp": issued + 600,
        ]
        do {
            let encodedHeader = base64url(Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])))
            let encodedPayload = base64url(Array(try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])))
            let signingInput = encodedHeader + "." + encodedPayload
            let signature = try key.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
            return signingInput + "." + base64url(Array(signature.rawRepresentation))
        } catch {
            throw IntuneAPIError(.refused(status: 0), call: .token, "could not sign the client assertion with INTUNE_CLIENT_KEY_PATH: \(error)")
        }
    }

    /// RFC 4648 §5 without padding, as JWTs spell it.
    static func base64url(_ bytes: [UInt8]) -> String {
        var text = Base64.encode(bytes)
        while text.hasSuffix("=") { text.removeLast() }
        return text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
