import AsyncHTTPClient
import Crypto
import Foundation
import IntuneStandIn
import NIOCore
import NIOHTTP1
import SwiftASN1
import Testing
import X509
import ScepterTesting
import Synchronization
import _CryptoExtras

/// The stand-in itself, over real HTTP: it must accept what the contract
/// allows and catch what it does not, or the product's tests prove nothing.
@Suite("The Intune stand-in speaks and checks Microsoft's contract", .timeLimit(.minutes(5)))
struct IntuneStandInTests {
    static let scepAPIVersion = "2018-02-20"
    static let pkiAPIVersion = "5019-05-05"

    @Test("Secret token, discovery and validateRequest follow the contract", .timeLimit(.minutes(5)))
    func secretTokenDiscoveryAndValidate() async throws {
        try await withStandIn { standIn, client in
            let graphToken = try await client.token(scope: standIn.graphURL + "/.default")
            #expect(graphToken.status == 200)
            #expect(graphToken.json?["token_type"] as? String == "Bearer")
            #expect(graphToken.json?["expires_in"] as? Int == 3599)

            let services = try await client.discover(token: try #require(graphToken.json?["access_token"] as? String))
            #expect(services.count == 4)
            let scepURI = try #require(services["ScepRequestValidationFEService"])
            #expect(services["PkiConnectorFEService"] != nil)

            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            let csr = try Self.csr(challenge: standIn.challenge())
            let accepted = try await client.validate(scepURI, token: token, transactionID: "tx-1", csr: csr)
            #expect(accepted.status == 200)
            #expect(accepted.json?["code"] as? String == "Success")
            #expect(accepted.json?["errorDescription"] as? String == "")

            let unknown = try await client.validate(
                scepURI, token: token, transactionID: "tx-2", csr: try Self.csr(challenge: String(repeating: "A", count: 400)))
            #expect(unknown.json?["code"] as? String == "ChallengeDecryptionError")

            let expired = try await client.validate(
                scepURI, token: token, transactionID: "tx-3",
                csr: try Self.csr(challenge: standIn.challenge(answering: "ChallengeExpired", description: "too old")))
            #expect(expired.json?["code"] as? String == "ChallengeExpired")
            #expect(expired.json?["errorDescription"] as? String == "too old")

            let notified = try await client.intune(
                scepURI + "/ScepActions/successNotification", token: token, apiVersion: Self.scepAPIVersion,
                body: [
                    "notification": [
                        "transactionId": "tx-1", "certificateRequest": csr, "certificateThumbprint": String(repeating: "ab", count: 20),
                        "certificateSerialNumber": "01AF", "certificateExpirationDateUtc": "2099-01-01T00:00:00.000Z",
                        "issuingCertificateAuthority": "CN=Scepter Test CA", "caConfiguration": "scepter",
                        "certificateAuthority": "Scepter", "callerInfo": "Scepter",
                    ]
                ])
            #expect(notified.status == 200)
            #expect(notified.json?["code"] as? String == "Success")

            #expect(standIn.violations == [])
            #expect(standIn.calls(.validate).map(\.status) == [200, 200, 200])
            #expect(standIn.calls(.validate).map(\.transactionID) == ["tx-1", "tx-2", "tx-3"])
            #expect(standIn.successNotifications.map(\.transactionID) == ["tx-1"])
            #expect(standIn.tokenRequests.secret == 2)
        }
    }

    @Test("A wrong secret is refused 401 without a violation", .timeLimit(.minutes(5)))
    func wrongSecret() async throws {
        try await withStandIn { standIn, client in
            let reply = try await client.token(scope: standIn.graphURL + "/.default", secret: "not-the-secret")
            #expect(reply.status == 401)
            #expect((reply.json?["error_description"] as? String)?.hasPrefix("AADSTS7000215") == true)
            #expect(standIn.violations == [])
        }
    }

    @Test("A malformed token request is a violation", .timeLimit(.minutes(5)))
    func singleSlashScope() async throws {
        try await withStandIn { standIn, client in
            let reply = try await client.token(scope: "https://api.manage.microsoft.com/.default")
            #expect(reply.status == 400)
            #expect(standIn.violations.count == 1)
            #expect(standIn.violations.first?.contains("scope") == true)
        }
    }

    @Test("A call without client-request-id is a violation", .timeLimit(.minutes(5)))
    func missingClientRequestID() async throws {
        try await withStandIn { standIn, client in
            let scepURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            let reply = try await client.validate(
                scepURI, token: token, transactionID: "tx-1", csr: try Self.csr(challenge: standIn.challenge()), requestID: nil)
            #expect(reply.status == 200)
            #expect(standIn.violations == ["validate: no client-request-id header"])
        }
    }

    @Test("A reused client-request-id is a violation", .timeLimit(.minutes(5)))
    func reusedClientRequestID() async throws {
        try await withStandIn { standIn, client in
            let scepURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            let csr = try Self.csr(challenge: standIn.challenge())
            let id = UUID().uuidString
            _ = try await client.validate(scepURI, token: token, transactionID: "tx-1", csr: csr, requestID: id)
            _ = try await client.validate(scepURI, token: token, transactionID: "tx-1", csr: csr, requestID: id)
            #expect(standIn.violations.count == 1)
            #expect(standIn.violations.first?.contains("already used") == true)
        }
    }

    @Test("A Graph-scope token on an Intune call is refused 401", .timeLimit(.minutes(5)))
    func graphTokenOnIntuneCall() async throws {
        try await withStandIn { standIn, client in
            let graphToken = try await client.accessToken(scope: standIn.graphURL + "/.default")
            let scepURI = try await client.discover(token: graphToken)["ScepRequestValidationFEService"] ?? ""
            let reply = try await client.validate(
                scepURI, token: graphToken, transactionID: "tx-1", csr: try Self.csr(challenge: standIn.challenge()))
            #expect(reply.status == 401)
            #expect(standIn.calls(.validate).map(\.status) == [401])
            #expect(standIn.violations.count == 1)
            #expect(standIn.violations.first?.contains("graph scope") == true)
        }
    }

    @Test("expireTokens makes issued tokens 401, which is no violation", .timeLimit(.minutes(5)))
    func expiredTokens() async throws {
        try await withStandIn { standIn, client in
            let scepURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            standIn.expireTokens()
            let reply = try await client.validate(
                scepURI, token: token, transactionID: "tx-1", csr: try Self.csr(challenge: standIn.challenge()))
            #expect(reply.status == 401)
            #expect(standIn.violations == [])
        }
    }

    @Test("A scripted 503 with Retry-After answers once, then normally", .timeLimit(.minutes(5)))
    func scriptedUnavailable() async throws {
        try await withStandIn { standIn, client in
            let scepURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            let csr = try Self.csr(challenge: standIn.challenge())
            standIn.set(.validate, .status(503, retryAfter: 2), times: 1)

            let refused = try await client.validate(scepURI, token: token, transactionID: "tx-1", csr: csr)
            #expect(refused.status == 503)
            #expect(refused.headers.first(name: "Retry-After") == "2")
            let accepted = try await client.validate(scepURI, token: token, transactionID: "tx-1", csr: csr)
            #expect(accepted.status == 200)
            #expect(accepted.json?["code"] as? String == "Success")
            #expect(standIn.calls(.validate).map(\.status) == [503, 200])
            #expect(standIn.violations == [])
        }
    }

    @Test("A delayed answer times out a client that waits less", .timeLimit(.minutes(5)))
    func scriptedDelay() async throws {
        try await withStandIn { standIn, client in
            standIn.set(.token, .delay(.seconds(30)), times: 1)
            await #expect(throws: HTTPClientError.deadlineExceeded) {
                try await client.token(scope: standIn.graphURL + "/.default", timeout: .milliseconds(200))
            }
            let next = try await client.token(scope: standIn.graphURL + "/.default")
            #expect(next.status == 200)
            // The delayed call is still asleep; stopping the stand-in must not wait for it.
        }
    }

    @Test("A scripted body is answered exactly", .timeLimit(.minutes(5)))
    func scriptedBody() async throws {
        try await withStandIn { standIn, client in
            standIn.set(.token, .body(status: 502, contentType: "text/html", "<html>Bad gateway</html>"), times: 1)
            let reply = try await client.token(scope: standIn.graphURL + "/.default")
            #expect(reply.status == 502)
            #expect(reply.body == "<html>Bad gateway</html>")
            #expect(reply.headers.first(name: "Content-Type") == "text/html")
            #expect(try await client.token(scope: standIn.graphURL + "/.default").status == 200)
        }
    }

    @Test("moveServices retires the old service URIs", .timeLimit(.minutes(5)))
    func movedServices() async throws {
        try await withStandIn { standIn, client in
            let oldURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")
            standIn.moveServices()
            let csr = try Self.csr(challenge: standIn.challenge())

            let gone = try await client.validate(oldURI, token: token, transactionID: "tx-1", csr: csr)
            #expect(gone.status == 404)
            let newURI = try await client.discover()["ScepRequestValidationFEService"] ?? ""
            #expect(newURI != oldURI)
            let accepted = try await client.validate(newURI, token: token, transactionID: "tx-1", csr: csr)
            #expect(accepted.json?["code"] as? String == "Success")
            #expect(standIn.violations == [])
        }
    }

    @Test("Revocations round trip; reporting a context twice is a violation", .timeLimit(.minutes(5)))
    func revocationRoundTrip() async throws {
        try await withStandIn { standIn, client in
            let first = standIn.queueRevocation(serialNumber: "0A1B")
            let second = standIn.queueRevocation(serialNumber: "0C2D")
            standIn.queueRevocation(serialNumber: "0E3F", issuerName: "CN=Another CA")
            let pkiURI = try await client.discover()["PkiConnectorFEService"] ?? ""
            let token = try await client.accessToken(scope: "https://api.manage.microsoft.com//.default")

            let downloaded = try await client.intune(
                pkiURI + "/CertificateAuthorityRequests/downloadRevocationRequests", token: token, apiVersion: Self.pkiAPIVersion,
                body: ["downloadParameters": ["maxRequests": 10, "issuerName": "CN=Scepter Test CA"]])
            #expect(downloaded.status == 200)
            let requests = try #require(downloaded.json?["value"] as? [[String: Any]])
            #expect(requests.compactMap { $0["requestContext"] as? String } == [first, second])
            #expect(requests.compactMap { $0["serialNumber"] as? String } == ["0A1B", "0C2D"])

            let results: [[String: Any]] = [
                ["requestContext": first, "succeeded": true, "errorCode": "", "errorMessage": ""],
                ["requestContext": second, "succeeded": false, "errorCode": "NotFound", "errorMessage": "no such certificate"],
            ]
            let upload = pkiURI + "/CertificateAuthorityRequests/uploadRevocationResults"
            let uploaded = try await client.intune(upload, token: token, apiVersion: Self.pkiAPIVersion, body: ["results": results])
            #expect(uploaded.status == 200)
            #expect(uploaded.json?["value"] as? Bool == true)
            #expect(standIn.revocationResults.map(\.serialNumber) == ["0A1B", "0C2D"])
            #expect(standIn.revocationResults.map(\.succeeded) == [true, false])
            #expect(standIn.violations == [])

            _ = try await client.intune(upload, token: token, apiVersion: Self.pkiAPIVersion, body: ["results": [results[0]]])
            #expect(standIn.violations == ["uploadRevocationResults: requestContext \(first) reported twice"])
            #expect(standIn.revocationResults.count == 2)
            #expect(standIn.overlappingDownloads == 0)
        }
    }

    @Test("A JWT client assertion is accepted; a tampered one is refused 401", .timeLimit(.minutes(5)))
    func clientAssertion() async throws {
        let key = TestPKI.rsa2048Key()
        let name = try DistinguishedName { CommonName("Scepter Intune client") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 60,
            notValidAfter: now + 86400, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions(), issuerPrivateKey: .init(key))

        try await withStandIn(clientSecret: nil, clientCertificate: certificate) { standIn, client in
            let assertion = try Self.assertion(
                key: key, certificate: certificate, audience: standIn.tokenEndpoint, clientID: standIn.clientID)
            let accepted = try await client.token(scope: "https://api.manage.microsoft.com//.default", assertion: assertion)
            #expect(accepted.status == 200)
            #expect(accepted.json?["access_token"] is String)

            var tampered = Array(
                try Self.assertion(key: key, certificate: certificate, audience: standIn.tokenEndpoint, clientID: standIn.clientID))
            // A character well inside the signature, so every one of its bits counts.
            let inSignature = try #require(tampered.lastIndex(of: ".")) + 20
            tampered[inSignature] = tampered[inSignature] == "A" ? "B" : "A"
            let refused = try await client.token(scope: "https://api.manage.microsoft.com//.default", assertion: String(tampered))
            #expect(refused.status == 401)
            #expect((refused.json?["error_description"] as? String)?.hasPrefix("AADSTS700027") == true)

            #expect(standIn.tokenRequests.assertion == 2)
            #expect(standIn.violations == [])

            let replayed = try await client.token(scope: "https://api.manage.microsoft.com//.default", assertion: assertion)
            #expect(replayed.status == 401)
            #expect(standIn.violations.count == 1)
            #expect(standIn.violations.first?.contains("jti") == true)
        }
    }

    // MARK: Helpers

    @Test("The stand-in answers while every thread of the tests' cooperative pool is held", .timeLimit(.minutes(1)))
    func answersWhileThePoolIsHeld() async throws {
        let standIn = try await IntuneStandIn.start()
        let width = ProcessInfo.processInfo.activeProcessorCount
        let answered = DispatchSemaphore(value: 0)
        let status = Mutex<UInt?>(nil)
        // The request goes out from a thread of its own and is read on an
        // event loop, so nothing on its way needs the pool but the stand-in.
        let url = standIn.baseURL + "/no-such-service"
        Thread.detachNewThread {
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let response = try? http.get(url: url, deadline: .now() + .seconds(10)).wait()
            status.withLock { $0 = response?.status.code }
            try? http.syncShutdown()
            for _ in 0..<width { answered.signal() }
        }
        // Every pool thread blocks until the answer is in (at most 10 s).
        let held = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<width { group.addTask { answered.wait(timeout: .now() + 10) == .success } }
            return await group.reduce(true) { $0 && $1 }
        }
        await standIn.stop()
        #expect(held, "the stand-in did not answer while the pool was held: it runs on the pool")
        #expect(status.withLock { $0 } == 404)
    }

    private func withStandIn(
        clientSecret: String? = "s3cret-value", clientCertificate: Certificate? = nil,
        _ body: (IntuneStandIn, Client) async throws -> Void
    ) async throws {
        let standIn = try await IntuneStandIn.start(clientSecret: clientSecret, clientCertificate: clientCertificate)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let outcome: Result<Void, any Error>
        do {
            try await body(standIn, Client(http: http, standIn: standIn))
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try await http.shutdown()
        await standIn.stop()
        try outcome.get()
    }

    /// A device's CSR carrying `challenge`, as standard base64 of its DER.
    static func csr(challenge: String) throws -> String {
        let key = P256.Signing.PrivateKey()
        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(.init(oid: [1, 2, 840, 113549, 1, 9, 7], values: [try ASN1Any(erasing: ASN1UTF8String(challenge))]))
        let csr = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("device-1") }, privateKey: .init(key),
            attributes: attributes, signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return Data(serializer.serializedBytes).base64EncodedString()
    }

    /// An RS256 client assertion built by hand, independent of the stand-in's reading of it.
    static func assertion(key: _RSA.Signing.PrivateKey, certificate: Certificate, audience: String, clientID: String) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let header = ["alg": "RS256", "typ": "JWT", "x5t#S256": base64URL(SHA256.hash(data: serializer.serializedBytes))]
        let now = Int(Date().timeIntervalSince1970)
        let payload: [String: Any] = [
            "aud": audience, "iss": clientID, "sub": clientID, "jti": UUID().uuidString, "nbf": now, "exp": now + 600, "iat": now,
        ]
        let signingInput =
            base64URL(try JSONSerialization.data(withJSONObject: header)) + "."
            + base64URL(try JSONSerialization.data(withJSONObject: payload))
        let signature = try key.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Speaks the contract the way a well-behaved product would.
    struct Client {
        let http: HTTPClient
        let standIn: IntuneStandIn

        struct Reply {
            var status: Int
            var headers: HTTPHeaders
            var body: String
            var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
        }

        func send(
            _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: String? = nil, timeout: TimeAmount = .seconds(20)
        ) async throws -> Reply {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
        }

        func token(scope: String, secret: String = "s3cret-value", timeout: TimeAmount = .seconds(20)) async throws -> Reply {
            try await token(["scope": scope, "client_secret": secret], timeout: timeout)
        }

        func token(scope: String, assertion: String) async throws -> Reply {
            try await token([
                "scope": scope, "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            ])
        }

        private func token(_ fields: [String: String], timeout: TimeAmount = .seconds(20)) async throws -> Reply {
            let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            let form = (["grant_type": "client_credentials", "client_id": standIn.clientID].merging(fields) { $1 })
                .map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")" }
                .joined(separator: "&")
            return try await send(
                .POST, standIn.tokenEndpoint, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form,
                timeout: timeout)
        }

        func accessToken(scope: String) async throws -> String {
            let reply = try await token(scope: scope)
            return try #require(reply.json?["access_token"] as? String, "token request answered \(reply.status): \(reply.body)")
        }

        /// providerName → uri, with a fresh Graph token unless one is given.
        func discover(token: String? = nil) async throws -> [String: String] {
            var bearer = token
            if bearer == nil { bearer = try await accessToken(scope: standIn.graphURL + "/.default") }
            let reply = try await send(
                .GET, standIn.graphURL + "/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints",
                headers: [("Authorization", "Bearer \(bearer ?? "")")])
            let endpoints = try #require(reply.json?["value"] as? [[String: Any]], "discovery answered \(reply.status): \(reply.body)")
            var services: [String: String] = [:]
            for endpoint in endpoints {
                if let name = endpoint["providerName"] as? String, let uri = endpoint["uri"] as? String { services[name] = uri }
            }
            return services
        }

        func intune(
            _ url: String, token: String, apiVersion: String, body: [String: Any], requestID: String? = UUID().uuidString
        ) async throws -> Reply {
            var headers = [
                ("Authorization", "Bearer \(token)"), ("api-version", apiVersion), ("Content-Type", "application/json"),
                ("User-Agent", "Scepter-IntuneStandInTests"),
            ]
            if let requestID { headers.append(("client-request-id", requestID)) }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            return try await send(.POST, url, headers: headers, body: json)
        }

        func validate(
            _ scepURI: String, token: String, transactionID: String, csr: String, requestID: String? = UUID().uuidString
        ) async throws -> Reply {
            try await intune(
                scepURI + "/ScepActions/validateRequest", token: token, apiVersion: IntuneStandInTests.scepAPIVersion,
                body: ["request": ["transactionId": transactionID, "certificateRequest": csr, "callerInfo": "Scepter"]],
                requestID: requestID)
        }
    }
}
