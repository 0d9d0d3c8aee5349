import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ScepterProtocol
import X509

/// Gate 9: an optional webhook that answers whether a device is compliant.
///
/// Scepter POSTs JSON `{"profile", "transactionID", "claim": {"sub", "iss",
/// "device_name"}, "csr": {"subject", "sans"}}` and expects HTTP 200 with
/// `{"compliant": true|false, "reason": "…"}`. Anything else, including a
/// timeout, fails closed.
package struct ComplianceHook: Sendable {
    package let url: String
    package let timeout: Duration
    let client: HTTPClient

    package init(url: String, timeout: Duration = .seconds(5), client: HTTPClient = .shared) {
        self.url = url
        self.timeout = timeout
        self.client = client
    }

    struct Question: Encodable {
        struct Claim: Encodable {
            var sub: String
            var iss: String
            var device_name: String?
        }

        struct CSR: Encodable {
            var subject: String
            var sans: String
        }

        var profile: String
        var transactionID: String
        var claim: Claim
        var csr: CSR
    }

    struct Answer: Decodable {
        var compliant: Bool
        var reason: String?
    }

    /// nil when compliant; otherwise the refusal.
    package func check(profile: String, transactionID: String, claim: IntuneClaim, csr: CertificationRequest) async -> Refusal? {
        let question = Question(
            profile: profile, transactionID: transactionID,
            claim: .init(sub: claim.subject, iss: claim.issuer, device_name: claim.deviceName),
            csr: .init(subject: csr.subject.description, sans: csr.subjectAlternativeNames.summary))
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(question)))
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard response.status == .ok else {
                return Refusal(.complianceFailed, "compliance webhook answered HTTP \(response.status.code); failing closed")
            }
            let answer = try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView))
            if answer.compliant { return nil }
            return Refusal(.complianceFailed, "compliance webhook: device not compliant (\(answer.reason ?? "no reason given"))")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return Refusal(.complianceFailed, "compliance webhook did not answer within \(timeout); failing closed")
        } catch {
            return Refusal(.complianceFailed, "compliance webhook failed (\(error)); failing closed")
        }
    }
}
