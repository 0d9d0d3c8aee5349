import Crypto
import Foundation
import Hummingbird
import Logging
import SwiftASN1
import Synchronization
import X509

/// A real HTTP server on 127.0.0.1 standing in for Entra ID (the token
/// endpoint), Microsoft Graph (service discovery) and the two Intune services
/// a third-party SCEP CA calls.
///
/// It is written from Microsoft's published contract and checks every request
/// strictly: each deviation lands in ``violations`` as a readable sentence,
/// while the answer stays what the real service would most plausibly say, so
/// a test can both drive the product and assert that it spoke the contract.
///
/// Always `await stop()` when done: the server holds a port and a task.
package final class IntuneStandIn: Sendable {
    /// The kinds of request the stand-in answers.
    package enum Call: String, Sendable, CaseIterable {
        case token, discovery, validate, successNotification, failureNotification, downloadRevocations, uploadRevocationResults
    }

    /// How the next calls of one kind are answered.
    package enum Behaviour: Sendable, Equatable {
        case normal
        /// Answer that HTTP status with a JSON error body, and `Retry-After` (seconds) when given.
        case status(Int, retryAfter: Int? = nil)
        /// Wait, then answer normally: a timeout for a client that waits less.
        case delay(Duration)
        /// Answer exactly this (HTML, not-JSON, JSON without "code", …).
        case body(status: Int, contentType: String, String)
    }

    /// One request as answered, refused ones included.
    package struct RecordedCall: Sendable {
        package var call: Call
        /// The HTTP status answered.
        package var status: Int
        /// The `client-request-id` header as sent, nil when absent.
        package var clientRequestID: String?
        package var userAgent: String?
        package var at: Date
        /// The body's transactionId, for the SCEP validation service's calls.
        package var transactionID: String?
    }

    /// A successNotification or failureNotification as received.
    package struct Notification: Sendable {
        package var transactionID: String
        package var thumbprint: String?
        package var serialNumber: String?
        package var expiration: String?
        package var issuingCertificateAuthority: String?
        package var hResult: Int?
        package var errorDescription: String?
        package var clientRequestID: String
    }

    /// One entry of an uploadRevocationResults call, for a request handed out earlier.
    package struct RevocationResult: Sendable {
        package var requestContext: String
        /// The serial number of the queued request the context belongs to.
        package var serialNumber: String
        package var succeeded: Bool
        package var errorCode: String
        package var errorMessage: String
    }

    package let tenantID: String
    package let clientID: String
    let clientSecret: String?
    let clientCertificate: Certificate?
    /// base64url SHA-256 of the client certificate's DER: the `x5t#S256` an assertion must carry.
    let clientCertificateThumbprint: String?

    let state: Mutex<State>
    private let server = Mutex<Task<Void, Never>?>(nil)

    private init(tenantID: String, clientID: String, clientSecret: String?, clientCertificate: Certificate?) throws {
        self.tenantID = tenantID
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.clientCertificate = clientCertificate
        self.clientCertificateThumbprint = try clientCertificate.map {
            Base64URL.encode(SHA256.hash(data: try $0.derBytes()))
        }
        self.state = Mutex(State())
    }

    /// Starts the server on a free port of 127.0.0.1 and returns once it accepts connections.
    ///
    /// The registered application is `clientID` with either credential: the
    /// secret (nil: no secret is accepted) and the certificate whose key signs
    /// client assertions (nil: no assertion is accepted).
    package static func start(
        tenantID: String = "contoso.onmicrosoft.com", clientID: String = "11111111-2222-3333-4444-555555555555",
        clientSecret: String? = "s3cret-value", clientCertificate: Certificate? = nil
    ) async throws -> IntuneStandIn {
        let standIn = try IntuneStandIn(
            tenantID: tenantID, clientID: clientID, clientSecret: clientSecret, clientCertificate: clientCertificate)
        let (ports, portFound) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "IntuneStandIn")
        // Stopping cancels the server, which Hummingbird reports at error level; that is expected here.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await standIn.respond(to: request) },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portFound.yield(channel.localAddress?.port ?? 0)
                portFound.finish()
            },
            logger: serverLogger
        )
        // The server and every connection's task run on the stand-in's own queue.
        let task = Task(executorPreference: DedicatedExecutor(label: "IntuneStandIn")) {
            do {
                // No signal handlers: the test process owns its signals.
                try await app.runService(gracefulShutdownSignals: [])
            } catch is CancellationError {
            } catch {
                logger.error("the stand-in server stopped: \(error)")
            }
            portFound.finish()
        }
        guard let port = await ports.first(where: { _ in true }), port > 0 else {
            task.cancel()
            await task.value
            throw StartFailure()
        }
        standIn.state.withLock { $0.port = port }
        standIn.server.withLock { $0 = task }
        return standIn
    }

    /// The server did not come up (the port could not be bound).
    package struct StartFailure: Error, CustomStringConvertible {
        package var description: String { "the Intune stand-in could not listen on 127.0.0.1" }
    }

    /// Stops the server and waits until it has closed its port. Idempotent.
    package func stop() async {
        let task = server.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    /// `http://127.0.0.1:PORT`
    package var baseURL: String { "http://127.0.0.1:\(state.withLock { $0.port })" }
    /// The Entra ID authority; the token endpoint is `loginURL/tenantID/oauth2/v2.0/token`.
    package var loginURL: String { baseURL + "/login" }
    /// The Microsoft Graph base URL; its scope is `graphURL/.default`.
    package var graphURL: String { baseURL + "/graph" }
    /// The one token endpoint that answers, with the registered tenant.
    package var tokenEndpoint: String { "\(loginURL)/\(tenantID)/oauth2/v2.0/token" }

    // MARK: Knobs

    /// A fresh, unique opaque challenge (400 characters of base64) that validateRequest answers with `code`.
    package func challenge(answering code: String = "Success", description: String = "") -> String {
        var generator = SystemRandomNumberGenerator()
        let challenge = Data((0..<300).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
        state.withLock { $0.challenges[challenge] = .init(code: code, description: description) }
        return challenge
    }

    /// The next `times` calls of that kind behave so (nil: until set again), then `.normal`.
    package func set(_ call: Call, _ behaviour: Behaviour, times: Int? = nil) {
        state.withLock { state in
            if behaviour == .normal || (times ?? 1) < 1 {
                state.scripts[call] = nil
            } else {
                state.scripts[call] = .init(behaviour: behaviour, remaining: times)
            }
        }
    }

    /// Publishes a new generation of service URIs; the old ones answer 404 from now on.
    package func moveServices() {
        state.withLock { $0.generation += 1 }
    }

    /// Every token issued so far is invalid from now on (401 on use).
    package func expireTokens() {
        state.withLock { state in
            for key in state.tokens.keys { state.tokens[key]?.expires = .distantPast }
        }
    }

    /// The `expires_in` (seconds) of tokens issued from now on; 3599 by default.
    package var tokenLifetime: Int {
        get { state.withLock { $0.tokenLifetime } }
        set { state.withLock { $0.tokenLifetime = newValue } }
    }

    /// Queues a revocation request for downloadRevocationRequests and returns its requestContext.
    @discardableResult
    package func queueRevocation(
        serialNumber: String, issuerName: String = "CN=Scepter Test CA", caConfiguration: String = "scepter"
    ) -> String {
        let context = UUID().uuidString.lowercased()
        state.withLock {
            $0.revocations.append(
                .init(context: context, serialNumber: serialNumber, issuerName: issuerName, caConfiguration: caConfiguration))
        }
        return context
    }

    // MARK: What happened

    package var calls: [RecordedCall] { state.withLock { $0.calls } }
    package func calls(_ call: Call) -> [RecordedCall] { state.withLock { $0.calls.filter { $0.call == call } } }
    /// Every deviation from the contract seen so far, one sentence each, prefixed with the call.
    package var violations: [String] { state.withLock { $0.violations } }
    package var successNotifications: [Notification] { state.withLock { $0.successNotifications } }
    package var failureNotifications: [Notification] { state.withLock { $0.failureNotifications } }
    package var revocationResults: [RevocationResult] { state.withLock { $0.revocationResults } }
    /// Downloads that handed out requests while earlier ones were still unreported: two pollers at once.
    package var overlappingDownloads: Int { state.withLock { $0.overlappingDownloads } }
    /// Token requests by the credential they presented, whatever the answer.
    package var tokenRequests: (secret: Int, assertion: Int) { state.withLock { $0.tokenRequests } }
}

extension IntuneStandIn {
    /// Everything the stand-in remembers, behind one lock.
    struct State {
        var port = 0
        var generation = 1
        var tokenLifetime = 3599
        var scripts: [Call: Script] = [:]
        var tokens: [String: IssuedToken] = [:]
        var challenges: [String: ValidationAnswer] = [:]
        var seenClientRequestIDs: Set<UUID> = []
        var seenAssertionIDs: Set<String> = []
        var transactions: [String: Transaction] = [:]
        var revocations: [QueuedRevocation] = []

        var calls: [RecordedCall] = []
        var violations: [String] = []
        var successNotifications: [Notification] = []
        var failureNotifications: [Notification] = []
        var revocationResults: [RevocationResult] = []
        var overlappingDownloads = 0
        var tokenRequests = (secret: 0, assertion: 0)

        /// The behaviour for the next call of this kind, counting it down.
        mutating func takeBehaviour(for call: Call) -> Behaviour {
            guard var script = scripts[call] else { return .normal }
            if let remaining = script.remaining {
                script.remaining = remaining - 1
                scripts[call] = remaining > 1 ? script : nil
            }
            return script.behaviour
        }
    }

    struct Script {
        var behaviour: Behaviour
        /// nil: until set again.
        var remaining: Int?
    }

    enum TokenScope: String {
        case intune, graph
    }

    struct IssuedToken {
        var scope: TokenScope
        var expires: Date
    }

    struct ValidationAnswer {
        var code: String
        var description: String
    }

    /// What validateRequest answered for a transaction, for the notifications that follow.
    struct Transaction {
        var certificateRequest: [UInt8]
        var code: String
    }

    struct QueuedRevocation {
        enum Progress { case queued, handedOut, reported }
        var context: String
        var serialNumber: String
        var issuerName: String
        var caConfiguration: String
        var progress = Progress.queued
    }
}

extension Certificate {
    func derBytes() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(self)
        return serializer.serializedBytes
    }
}

extension IntuneStandIn {
    /// The `SCEPTER_PROFILE_<NAME>_INTUNE_*` variables that point `profile`
    /// at this stand-in as an `intune-api` profile with the client secret.
    package func environment(profile: String = "corp") -> [String: String] {
        let prefix = "SCEPTER_PROFILE_\(profile.uppercased().replacingOccurrences(of: "-", with: "_"))_INTUNE_"
        return [
            prefix + "MODE": "intune-api",
            prefix + "TENANT_ID": tenantID,
            prefix + "CLIENT_ID": clientID,
            prefix + "CLIENT_SECRET": clientSecret ?? "",
            prefix + "LOGIN_URL": loginURL,
            prefix + "GRAPH_URL": graphURL,
            // Generous: the suite runs many servers at once on two cores.
            prefix + "TIMEOUT": "10s",
        ]
    }
}
