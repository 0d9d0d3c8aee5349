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
/// timeout or a redirect, fails closed. With a secret, each request carries
/// `X-Scepter-Timestamp` and `X-Scepter-Signature` (`ComplianceSignature`).
package struct ComplianceHook: Sendable {
    package let url: String
    package let timeout: Duration
    /// Signs each request; nil when the profile has no `INTUNE_COMPLIANCE_SECRET`.
    package let signature: ComplianceSignature?
    let client: HTTPClient
    /// The clock behind `X-Scepter-Timestamp`.
    let now: @Sendable () -> Date

    package init(
        url: String, timeout: Duration = .seconds(5), signature: ComplianceSignature? = nil, client: HTTPClient = ComplianceHook.client,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.url = url
        self.timeout = timeout
        self.signature = signature
        self.client = client
        self.now = now
    }

    /// The webhooks' client. It follows no redirect: a `Location` could lead
    /// the signed device data to plain HTTP or another host, so a 3xx answer
    /// fails closed like any other status but 200. Never shut down, like
    /// `HTTPClient.shared`.
    package static let client = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

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
            let payload = Array(try JSONEncoder().encode(question))
            if let signature {
                let timestamp = Int64(now().timeIntervalSince1970.rounded(.down))
                request.headers.add(name: ComplianceSignature.timestampHeader, value: String(timestamp))
                request.headers.add(name: ComplianceSignature.signatureHeader, value: signature.signature(timestamp: timestamp, body: payload))
            }
            request.body = .bytes(ByteBuffer(bytes: payload))
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
