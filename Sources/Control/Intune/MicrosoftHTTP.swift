import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ScepterProtocol

/// One HTTP exchange with Entra ID, Graph or Intune, bounded in time and size.
struct MicrosoftHTTP: Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        /// `Retry-After` in seconds (Microsoft sends seconds, not dates).
        var retryAfter: Duration? {
            headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { .seconds(max(0, $0)) }
        }

        var contentType: String { headers.first(name: "Content-Type") ?? "none" }

        /// The body for a log line or an audit reason: printable, short.
        var excerpt: String {
            let text = String(decoding: body.prefix(160), as: UTF8.self)
            return String(text.unicodeScalars.map { (0x20..<0x7f).contains($0.value) ? Character($0) : " " })
        }
    }

    let client: HTTPClient

    /// The client for Microsoft's services: a refused or unreachable host
    /// fails at once instead of being retried until the call's deadline (the
    /// retries here are Scepter's own, counted and bounded), and redirects
    /// are not followed, so a bearer token never leaves for another host.
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5))
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Largest answer read; Microsoft's are a few KiB.
    static let maxAnswerSize = 1024 * 1024
    static let userAgent = "Scepter/\(ScepterRelease.version) (SCEP; intune-api)"

    /// Sends one request; throws only when no answer arrived (transport or timeout).
    func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]? = nil, timeout: Duration
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let response = try await client.execute(request, deadline: deadline)
        let collected = try await response.body.collect(upTo: Self.maxAnswerSize)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }
}
