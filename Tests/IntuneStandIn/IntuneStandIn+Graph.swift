import Foundation
import Synchronization

/// Microsoft Graph's service discovery: the endpoints of the Intune service principal.
extension IntuneStandIn {
    /// Graph lists more providers than a SCEP CA needs; the unrelated ones make the client choose by providerName.
    private static let providers: [(name: String, id: String, resourceID: String, capability: String)] = [
        ("IntuneGraphService", "b5f0ae3c-1a3d-4a59-9f3c-9e0b7c1a0001", "4d2a4f5e-7a5b-4bd2-8a91-3c7a6f1b0001", "Intune"),
        ("ScepRequestValidationFEService", "b5f0ae3c-1a3d-4a59-9f3c-9e0b7c1a0002", "4d2a4f5e-7a5b-4bd2-8a91-3c7a6f1b0002", "Intune"),
        ("ContinuousAccessEvaluationService", "b5f0ae3c-1a3d-4a59-9f3c-9e0b7c1a0003", "4d2a4f5e-7a5b-4bd2-8a91-3c7a6f1b0003", "Intune"),
        ("PkiConnectorFEService", "b5f0ae3c-1a3d-4a59-9f3c-9e0b7c1a0004", "4d2a4f5e-7a5b-4bd2-8a91-3c7a6f1b0004", "Intune"),
    ]

    func answerDiscovery(_ exchange: Exchange) -> Answer {
        guard checkBearer(exchange, needs: .graph) else {
            return .graphError(401, "InvalidAuthenticationToken", "Access token validation failure.")
        }
        let generation = state.withLock { $0.generation }
        let endpoints: [[String: Any]] = Self.providers.map { provider in
            let uri: String
            switch provider.name {
            case "ScepRequestValidationFEService": uri = serviceURI(.scep, generation: generation)
            case "PkiConnectorFEService": uri = serviceURI(.pki, generation: generation)
            default: uri = "\(baseURL)/unrelated/\(provider.name)"
            }
            return [
                "@odata.type": "#microsoft.graph.endpoint", "id": UUID().uuidString.lowercased(),
                "capability": provider.capability, "providerId": provider.id, "providerName": provider.name,
                "providerResourceId": provider.resourceID, "uri": uri,
            ]
        }
        return .json(
            200,
            [
                "@odata.context": "\(graphURL)/v1.0/$metadata#servicePrincipals('appId%3D\(Self.intuneAppID)')/endpoints",
                "value": endpoints,
            ])
    }
}
