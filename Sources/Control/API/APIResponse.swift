import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The admin API's answers: JSON with ISO 8601 dates, and one error shape
/// everywhere, `{"error":{"code":…,"message":…}}`, whose message names the
/// input or setting at fault.
enum APIResponse {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder().encode(value))))
    }

    /// The machine-readable part of an error.
    enum Code: String, Encodable {
        case unauthorized
        case forbidden
        case badRequest = "bad_request"
        case notFound = "not_found"
        case unavailable
    }

    private struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var code: Code
            var message: String
        }
        var error: Detail
    }

    static func error(_ status: HTTPResponse.Status, _ code: Code, _ message: String) -> Response {
        var response = (try? json(ErrorBody(error: .init(code: code, message: message)), status: status))
            ?? Response(status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        if status == .serviceUnavailable { response.headers[.retryAfter] = "5" }
        return response
    }

    static func badRequest(_ message: String) -> Response { error(.badRequest, .badRequest, message) }
    static func notFound(_ message: String) -> Response { error(.notFound, .notFound, message) }
    static func unavailable(_ message: String) -> Response { error(.serviceUnavailable, .unavailable, message) }
}
