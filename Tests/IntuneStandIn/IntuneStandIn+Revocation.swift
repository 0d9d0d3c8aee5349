import Foundation
import Synchronization

/// Intune's PKI connector service: revocation requests handed out, then their results reported.
extension IntuneStandIn {
    static let maximumRevocationRequests = 1...500

    func answerDownloadRevocations(_ exchange: Exchange) -> Answer {
        let authorized = checkBearer(exchange, needs: .intune)
        checkIntuneHeaders(exchange, service: .pki)
        let parameters = JSONObject(body: exchange)?.object("downloadParameters")
        let maxRequests = parameters?.integer("maxRequests")
        if let maxRequests, !Self.maximumRevocationRequests.contains(maxRequests) {
            exchange.note("maxRequests \(maxRequests) is outside \(Self.maximumRevocationRequests)")
        }
        // A client that omits a nil issuerName (as many JSON writers do) means null.
        let issuerName = parameters?.optionalString("issuerName")

        guard authorized else { return .intuneUnauthorized }
        guard let maxRequests else { return .graphError(400, "BadRequest", "The request body is not a downloadRevocationRequests.") }
        let limit = min(max(maxRequests, Self.maximumRevocationRequests.lowerBound), Self.maximumRevocationRequests.upperBound)
        let handedOut = state.withLock { state in
            let selected = state.revocations.indices
                .filter { state.revocations[$0].progress == .queued && (issuerName == nil || state.revocations[$0].issuerName == issuerName) }
                .prefix(limit)
            guard exchange.takesEffect else { return selected.map { state.revocations[$0] } }
            if !selected.isEmpty, state.revocations.contains(where: { $0.progress == .handedOut }) {
                state.overlappingDownloads += 1
            }
            for index in selected { state.revocations[index].progress = .handedOut }
            return selected.map { state.revocations[$0] }
        }
        let value: [[String: Any]] = handedOut.map {
            ["requestContext": $0.context, "serialNumber": $0.serialNumber, "issuerName": $0.issuerName, "caConfiguration": $0.caConfiguration]
        }
        return .json(200, ["value": value])
    }

    func answerUploadRevocationResults(_ exchange: Exchange) -> Answer {
        let authorized = checkBearer(exchange, needs: .intune)
        checkIntuneHeaders(exchange, service: .pki)
        let results = JSONObject(body: exchange)?.objects("results")
        if let results, results.isEmpty { exchange.note("results is empty; there is nothing to upload") }

        var reported: [RevocationResult] = []
        for result in results ?? [] {
            let context = result.string("requestContext")
            let succeeded = result.bool("succeeded")
            let errorCode = result.string("errorCode", allowEmpty: true)
            let errorMessage = result.string("errorMessage", allowEmpty: true)
            guard let context, let succeeded, let errorCode, let errorMessage else { continue }
            reported.append(RevocationResult(
                requestContext: context, serialNumber: "", succeeded: succeeded, errorCode: errorCode, errorMessage: errorMessage))
        }

        guard authorized else { return .intuneUnauthorized }
        guard results != nil else { return .graphError(400, "BadRequest", "The request body is not an uploadRevocationResults.") }
        let problems = state.withLock { state in
            var problems: [String] = []
            for var result in reported {
                guard let index = state.revocations.firstIndex(where: { $0.context == result.requestContext }),
                    state.revocations[index].progress != .queued
                else {
                    problems.append("unknown requestContext \(result.requestContext): it was never handed out")
                    continue
                }
                guard state.revocations[index].progress == .handedOut else {
                    problems.append("requestContext \(result.requestContext) reported twice")
                    continue
                }
                guard exchange.takesEffect else { continue }
                state.revocations[index].progress = .reported
                result.serialNumber = state.revocations[index].serialNumber
                state.revocationResults.append(result)
            }
            return problems
        }
        problems.forEach(exchange.note)
        return .json(200, ["value": true])
    }
}
