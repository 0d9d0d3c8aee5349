import Crypto
import Foundation
import Synchronization
import X509
import _CryptoExtras

/// Entra ID's token endpoint: the client-credentials grant with a secret or a certificate's JWT assertion.
extension IntuneStandIn {
    /// The Intune resource's scope: resource URL `https://api.manage.microsoft.com/` plus `/.default`, hence two slashes.
    static let intuneScope = "https://api.manage.microsoft.com//.default"
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// Clock skew Entra tolerates on an assertion's `nbf`, in seconds.
    static let assertionSkew: TimeInterval = 60
    static let maximumAssertionLifetime: TimeInterval = 3600

    var graphScope: String { graphURL + "/.default" }

    func answerToken(_ exchange: Exchange, tenant: String) -> Answer {
        checkContentType(exchange, "application/x-www-form-urlencoded")
        let form = Self.readForm(exchange)

        // Every shape problem is noted; the first one decides the 400.
        var malformed: Answer?
        func missing(_ field: String) {
            exchange.note("the form has no \(field)")
            malformed = malformed ?? Self.oauthError(400, "invalid_request", 900144, "The request body must contain the following parameter: '\(field)'.")
        }

        switch form["grant_type"] {
        case nil: missing("grant_type")
        case "client_credentials": break
        case let other?:
            exchange.note("grant_type is \(other); expected client_credentials")
            malformed = malformed ?? Self.oauthError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '\(other)'.")
        }

        let clientID = form["client_id"]
        if clientID == nil { missing("client_id") }

        var scope: TokenScope?
        switch form["scope"] {
        case nil: missing("scope")
        case Self.intuneScope?: scope = .intune
        case graphScope?: scope = .graph
        case let other?:
            exchange.note("scope is \(other); expected \(Self.intuneScope) or \(graphScope)")
            malformed = malformed ?? Self.oauthError(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
        }

        let secret = form["client_secret"]
        let assertion = form["client_assertion"]
        state.withLock { state in
            if secret != nil { state.tokenRequests.secret += 1 }
            if assertion != nil { state.tokenRequests.assertion += 1 }
        }
        switch (secret, assertion) {
        case (nil, nil):
            exchange.note("the form has neither client_secret nor client_assertion")
            malformed = malformed ?? Self.oauthError(400, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        case (.some, .some):
            exchange.note("the form has both client_secret and client_assertion")
            malformed = malformed ?? Self.oauthError(400, "invalid_request", 90014, "Only one client credential may be presented.")
        case (.some, nil):
            if form["client_assertion_type"] != nil { exchange.note("client_assertion_type without client_assertion") }
        case (nil, .some):
            if form["client_assertion_type"] != Self.assertionType {
                exchange.note("client_assertion_type is \(form["client_assertion_type"] ?? "missing"); expected \(Self.assertionType)")
                malformed = malformed ?? Self.oauthError(400, "invalid_request", 700025, "Client assertion type is invalid.")
            }
        }

        // The assertion's claims are checked even when the answer is already decided.
        let audience = "\(loginURL)/\(tenant)/oauth2/v2.0/token"
        let assertionRefusal = assertion.flatMap { checkAssertion($0, audience: audience, clientID: clientID ?? "", exchange) }

        if tenant != tenantID {
            return Self.oauthError(400, "invalid_request", 90002, "Tenant '\(tenant)' not found.")
        }
        if let malformed { return malformed }
        guard clientID == self.clientID, let scope else {
            return Self.oauthError(400, "unauthorized_client", 700016, "Application with identifier '\(clientID ?? "")' was not found in the directory.")
        }
        if let secret, secret != clientSecret {
            return Self.oauthError(401, "invalid_client", 7000215, "Invalid client secret provided.")
        }
        if let assertionRefusal { return assertionRefusal }
        return issueToken(scope, remember: exchange.takesEffect)
    }

    /// A token answer; only a remembered token authorizes later calls.
    private func issueToken(_ scope: TokenScope, remember: Bool) -> Answer {
        var generator = SystemRandomNumberGenerator()
        let token = Base64URL.encode((0..<48).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let lifetime = state.withLock { state in
            if remember {
                state.tokens[token] = IssuedToken(scope: scope, expires: Date().addingTimeInterval(TimeInterval(state.tokenLifetime)))
            }
            return state.tokenLifetime
        }
        return .json(200, ["token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token])
    }

    /// Checks a client assertion; nil when Entra would accept it, else its refusal.
    ///
    /// A malformed assertion (wrong header, claims, reused `jti`) is a
    /// violation; one signed by another certificate, or whose signature does
    /// not verify, is only refused: tests present those on purpose.
    private func checkAssertion(_ jwt: String, audience: String, clientID: String, _ exchange: Exchange) -> Answer? {
        func refused(_ code: Int, _ description: String) -> Answer {
            Self.oauthError(401, "invalid_client", code, description)
        }
        let before = exchange.violations.count
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            exchange.note("client_assertion is not a compact JWS (\(parts.count) parts)")
            return refused(50027, "JWT token is invalid or malformed.")
        }
        guard let header = Self.jwtSegment(parts[0], "header", exchange), let payload = Self.jwtSegment(parts[1], "payload", exchange)
        else { return refused(50027, "JWT token is invalid or malformed.") }
        let signature = Base64URL.decode(parts[2])
        if signature == nil { exchange.note("client_assertion's signature is not base64url") }

        if let alg = header.string("alg"), alg != "RS256" { exchange.note("client_assertion alg is \(alg); expected RS256") }
        if let typ = header.string("typ"), typ != "JWT" { exchange.note("client_assertion typ is \(typ); expected JWT") }
        let thumbprint = header.string("x5t#S256")
        if let thumbprint, Base64URL.decode(thumbprint)?.count != SHA256.byteCount {
            exchange.note("client_assertion x5t#S256 \(thumbprint) is not the base64url of a SHA-256 digest")
        } else if let thumbprint, thumbprint.hasSuffix("=") {
            exchange.note("client_assertion x5t#S256 is padded; base64url in JOSE has no padding")
        }

        if let aud = payload.string("aud"), aud != audience {
            exchange.note("client_assertion aud is \(aud); expected the token endpoint \(audience)")
        }
        for claim in ["iss", "sub"] {
            if let value = payload.string(claim), value != clientID {
                exchange.note("client_assertion \(claim) is \(value); expected the client_id \(clientID)")
            }
        }
        if let jti = payload.string("jti") {
            let fresh = state.withLock { $0.seenAssertionIDs.insert(jti).inserted }
            if !fresh { exchange.note("client_assertion jti \(jti) was already used") }
        }
        let now = Date().timeIntervalSince1970
        let notBefore = payload.number("nbf")
        let expiry = payload.number("exp")
        if let notBefore, notBefore > now + Self.assertionSkew {
            exchange.note("client_assertion nbf is \(Int(notBefore - now)) s in the future")
        }
        if let expiry, expiry <= now { exchange.note("client_assertion expired \(Int(now - expiry)) s ago") }
        if let notBefore, let expiry, expiry - notBefore > Self.maximumAssertionLifetime {
            exchange.note("client_assertion is valid for \(Int(expiry - notBefore)) s; at most \(Int(Self.maximumAssertionLifetime)) s")
        }
        if payload.members["iat"] != nil { _ = payload.number("iat") }
        if exchange.violations.count > before { return refused(700027, "Client assertion contains an invalid claim or header.") }

        guard let registered = clientCertificateThumbprint, let certificate = clientCertificate, thumbprint == registered else {
            return refused(700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
        }
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey), let signature,
            key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: Array("\(parts[0]).\(parts[1])".utf8),
                padding: .insecurePKCS1v1_5)
        else {
            return refused(700027, "Client assertion failed signature validation.")
        }
        return nil
    }

    /// A JWT header or payload: base64url of a JSON object.
    private static func jwtSegment(_ text: Substring, _ name: String, _ exchange: Exchange) -> JSONObject? {
        guard let bytes = Base64URL.decode(text), let members = JSON.decode(bytes) as? [String: Any] else {
            exchange.note("client_assertion's \(name) is not base64url of a JSON object")
            return nil
        }
        return JSONObject(members: members, path: "client_assertion \(name)", exchange: exchange)
    }

    /// The form's fields, percent-decoded; duplicates and undecodable fields are violations.
    private static func readForm(_ exchange: Exchange) -> [String: String] {
        var fields: [String: String] = [:]
        let text = String(decoding: exchange.body, as: UTF8.self)
        for pair in text.split(separator: "&") {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decoded = halves.map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard halves.count == 2, let name = decoded[0], let value = decoded[1] else {
                exchange.note("form field \(pair.prefix(40)) is not name=value percent-encoded")
                continue
            }
            if fields[name] != nil { exchange.note("form field \(name) appears twice") }
            fields[name] = value
        }
        return fields
    }

    static func oauthError(_ status: Int, _ error: String, _ code: Int, _ description: String) -> Answer {
        .json(status, ["error": error, "error_description": "AADSTS\(code): \(description)", "error_codes": [code]])
    }
}
