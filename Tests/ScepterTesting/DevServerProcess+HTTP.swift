import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ScepterProtocol

extension DevServerProcess {
    /// The development RA certificate (DER), the recipient of PKIMessages.
    public var raCertificate: [UInt8] {
        get throws {
            let pem = try String(contentsOf: dataDirectory.appendingPathComponent("ra.pem"), encoding: .utf8)
            guard let der = PEM.firstBlock(in: pem, label: "CERTIFICATE") else { throw StartError(description: "ra.pem holds no certificate") }
            return der
        }
    }

    /// The development admin token.
    public var adminToken: String {
        get throws {
            try String(contentsOf: dataDirectory.appendingPathComponent("admin-token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// An HTTP request to the process, bounded by `timeout`; the status and body.
    public func request(
        _ path: String, method: String = "GET", body: [UInt8]? = nil, headers: [String: String] = [:], timeout: TimeInterval = 30
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body.map { Data($0) }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data))
    }

    /// POSTs a PKIMessage to `/scep/<profile>` (or `/scep`).
    public func pkiOperation(_ message: [UInt8], profile: String? = nil) async throws -> (status: Int, body: [UInt8]) {
        try await request(
            "/scep\(profile.map { "/\($0)" } ?? "")?operation=PKIOperation", method: "POST", body: message,
            headers: ["Content-Type": "application/x-pki-message"])
    }
}
