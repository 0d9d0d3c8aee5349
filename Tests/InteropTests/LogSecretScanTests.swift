import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// A real `scepter dev` at its most verbose, put through enrollments that
/// succeed and fail and admin calls with good and bad tokens: no secret it
/// holds or was shown may appear in its log.
@Suite("Interop: no secret reaches the log", .serialized, .timeLimit(.minutes(2)))
struct LogSecretScanTests {
    @Test("trace level, text and JSON: challenges, tokens and private keys stay out of every line", arguments: ["text", "json"])
    func noSecretInTheLog(format: String) async throws {
        let log = try Shell.temporaryDirectory().appendingPathComponent("stderr.log")
        let server = try await DevServerProcess.start(environment: ["SCEPTER_LOG_LEVEL": "trace", "SCEPTER_LOG_FORMAT": format], standardErrorFile: log)
        defer { server.terminate() }
        let ra = try server.raCertificate
        let adminToken = try server.adminToken
        let wrongChallenge = "wrong-challenge-\(UUID().uuidString)"
        let wrongToken = "wrong-token-\(UUID().uuidString)"

        let device = try TestDevice(commonName: "scanned", challenge: server.challenge)
        let issued = try await server.pkiOperation(try device.pkcsReq(ra: ra, transactionID: "tx-scan-ok"))
        #expect(try SCEPClient.readReply(issued.body, requester: try device.signer.keyPair()).status == .success)
        let refusedDevice = try TestDevice(commonName: "scanned-wrong", challenge: wrongChallenge)
        let refused = try await server.pkiOperation(try refusedDevice.pkcsReq(ra: ra, transactionID: "tx-scan-wrong"))
        #expect(try SCEPClient.readReply(refused.body, requester: try refusedDevice.signer.keyPair()).failInfo == .badRequest)

        let listed = try await server.request("/api/v1/certificates?device=scanned", headers: ["Authorization": "Bearer \(adminToken)"])
        #expect(listed.status == 200)
        let denied = try await server.request("/api/v1/certificates", headers: ["Authorization": "Bearer \(wrongToken)"])
        #expect(denied.status == 401)
        let deniedRevoke = try await server.request(
            "/api/v1/certificates/01/revoke", method: "POST", body: Array(#"{"reason":"keyCompromise"}"#.utf8),
            headers: ["Authorization": "Bearer \(wrongToken)", "Content-Type": "application/json"])
        #expect(deniedRevoke.status == 401)

        // Evidence that both enrollments were logged, then a graceful stop so nothing is left unwritten.
        _ = try await server.waitForLog { $0.contains("tx-scan-ok") && $0.contains("tx-scan-wrong") }
        server.terminate()
        let text = server.standardErrorText
        let lines = text.split(separator: "\n")
        #expect(lines.count >= 4, "\(text)")

        var secrets: [(String, String)] = [
            ("the challenge", server.challenge), ("the wrong challenge", wrongChallenge), ("the admin token", adminToken),
            ("the wrong token", wrongToken), ("a PEM private key", "PRIVATE KEY"),
        ]
        for file in ["ra.key", "ca.key"] {
            let pem = try String(contentsOf: server.dataDirectory.appendingPathComponent(file), encoding: .utf8)
            let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }
            #expect(body.count >= 10, "\(file) is not a PEM key")
            // Any 24 base64 characters of the key (18 bytes) would be a leak, wherever the line breaks fall.
            let joined = body.joined()
            for start in stride(from: 0, to: joined.count - 24, by: 24) {
                let from = joined.index(joined.startIndex, offsetBy: start)
                secrets.append(("\(file) at \(start)", String(joined[from..<joined.index(from, offsetBy: 24)])))
            }
            let der = try #require(Data(base64Encoded: joined), "\(file)")
            // The key's DER as hex, as a careless `\(bytes)` dump would show it.
            let hex = der.map { String(format: "%02x", $0) }.joined()
            secrets.append(("\(file) as hex", String(hex.dropFirst(64).prefix(48))))
        }
        for line in lines {
            for (name, secret) in secrets where line.contains(secret) {
                Issue.record("\(name) appears in the log: \(line)")
            }
        }
    }
}
