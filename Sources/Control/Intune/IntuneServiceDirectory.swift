import Foundation
import NIOHTTP1
import Logging
import Synchronization

/// Where Intune's services live, from Microsoft Graph's service discovery
/// (`servicePrincipals/appId=0000000a-…/endpoints`, by `providerName`).
/// Cached for a day; dropped when a service URI answers 404 (it moved).
final class IntuneServiceDirectory: Sendable {
    /// The Intune services a third-party CA calls.
    enum Service: String, Sendable, CaseIterable {
        case scepValidation = "ScepRequestValidationFEService"
        case pkiConnector = "PkiConnectorFEService"

        /// The `api-version` header each service expects (Microsoft's values).
        var apiVersion: String {
            switch self {
            case .scepValidation: "2018-02-20"
            case .pkiConnector: "5019-05-05"
            }
        }
    }

    /// Intune's first-party application id in every tenant.
    static let intuneAppID = "0000000a-0000-0000-c000-000000000000"
    static let lifetime = Duration.seconds(24 * 3600)

    private struct Discovered {
        var uris: [String: String]
        var at: ContinuousClock.Instant
    }

    let settings: IntuneAPISettings
    let http: MicrosoftHTTP
    let tokens: EntraTokens
    let logger: Logger
    private let discovered = Mutex<Discovered?>(nil)

    init(settings: IntuneAPISettings, http: MicrosoftHTTP, tokens: EntraTokens, logger: Logger) {
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.logger = logger
    }

    var endpointsURL: String { "\(settings.graphURL)/v1.0/servicePrincipals/appId=\(Self.intuneAppID)/endpoints" }

    func uri(for service: Service) async throws(IntuneAPIError) -> String {
        if let cached = discovered.withLock({ $0 }), ContinuousClock.now - cached.at < Self.lifetime {
            if let uri = cached.uris[service.rawValue] { return uri }
        }
        let uris = try await Retry.transient(call: .discovery) { () async throws(IntuneAPIError) in try await self.discover() }
        discovered.withLock { $0 = Discovered(uris: uris, at: .now) }
        guard let uri = uris[service.rawValue] else {
            throw IntuneAPIError(
                .notFound, call: .discovery,
                "Graph lists no \(service.rawValue) for tenant \(settings.tenantID): is Intune licensed there, and does the app have Application.Read.All?")
        }
        return uri
    }

    /// Forgets the discovered URIs: the next call asks Graph again.
    func invalidate() {
        discovered.withLock { $0 = nil }
    }

    private func discover() async throws(IntuneAPIError) -> [String: String] {
        var renewedToken = false
        var answer: MicrosoftHTTP.Answer
        while true {
            let token = try await tokens.token(for: settings.graphScope)
            do {
                answer = try await http.send(
                    .GET, endpointsURL, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")], timeout: settings.timeout)
            } catch {
                throw IntuneAPIError(.unreachable, call: .discovery, "Microsoft Graph at \(settings.graphURL) did not answer: \(error)")
            }
            // Expired, or issued before admin consent granted Application.Read.All: one fresh token.
            guard [401, 403].contains(answer.status), !renewedToken else { break }
            tokens.invalidate(settings.graphScope, token: token)
            renewedToken = true
        }
        switch answer.status {
        case 200..<300:
            break
        case 401, 403:
            throw IntuneAPIError(
                .refused(status: answer.status), call: .discovery,
                "Graph refused service discovery (\(answer.status)): grant the app \(settings.clientID) Microsoft Graph Application.Read.All with admin consent")
        case 429, 500...:
            throw IntuneAPIError(
                answer.status == 429 ? .throttled(retryAfter: answer.retryAfter) : .serverError(status: answer.status), call: .discovery,
                "Graph answered \(answer.status)")
        default:
            throw IntuneAPIError(.refused(status: answer.status), call: .discovery, "Graph answered \(answer.status): \(answer.excerpt)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let value = json["value"] as? [[String: Any]]
        else {
            throw IntuneAPIError(.badAnswer, call: .discovery, "Graph's endpoints answer is not a JSON object with a value list (\(answer.contentType))")
        }
        var uris: [String: String] = [:]
        for endpoint in value {
            if let name = endpoint["providerName"] as? String, let uri = endpoint["uri"] as? String {
                var uri = uri
                while uri.hasSuffix("/") { uri.removeLast() }
                uris[name] = uri
            }
        }
        logger.info("Intune services discovered", metadata: [
            "tenant": "\(settings.tenantID)",
            "services": "\(Service.allCases.map { "\($0.rawValue)=\(uris[$0.rawValue] ?? "missing")" }.joined(separator: " "))",
        ])
        return uris
    }
}
