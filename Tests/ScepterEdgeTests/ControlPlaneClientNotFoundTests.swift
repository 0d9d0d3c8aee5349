import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import X509
import ScepterEdge
import ScepterProtocol

/// Only the control plane's own 404 means "no such thing": an unknown CA
/// for GetCRL, an unknown serial for GetCert, an unknown transaction for a
/// poll. Any other 404 (a proxy's, another server's at
/// `SCEPTER_CONTROL_URL`) is an outage the edge answers as one, so a device
/// retries instead of being told its certificate does not exist.
@Suite("The edge's reads from the control plane: only its own 404 means not found", .timeLimit(.minutes(1)))
struct ControlPlaneClientNotFoundTests {
    enum Call: CaseIterable, Sendable {
        case crl, certificate, poll
    }

    static let cases: [(Call, String, Bool)] = [
        (.crl, "profile corp " + InternalAPI.unknownCRLIssuer + "\n", true), (.crl, "404 page not found", false),
        (.certificate, InternalAPI.notFound + "\n", true), (.certificate, "404 page not found", false), (.certificate, "", false),
        (.poll, InternalAPI.notFound + "\n", true), (.poll, "<html><title>404 Not Found</title></html>", false),
    ]

    @Test(arguments: cases)
    func notFound(call: Call, body: String, isOwn: Bool) async throws {
        let router = Router()
        let answer: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            Response(status: .notFound, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/internal/v1/profiles/:profile/crl", use: answer)
        router.get("/internal/v1/certificates/:profile/:serial", use: answer)
        router.get("/internal/v1/enrollments/:profile/:transaction", use: answer)
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let control = ControlPlaneClient(baseURL: "http://127.0.0.1:\(port)", token: "edge-token", profiles: [], logger: Logger(label: "test"))
            // run() shuts the HTTP client down once cancelled.
            let running = Task { try await control.run() }
            defer { running.cancel() }
            func read() async throws -> Bool {
                switch call {
                case .crl:
                    let request = IssuerAndSerial(issuer: try DistinguishedName { CommonName("Some CA") }, serialNumber: .init(bytes: [0x01]))
                    return try await control.crl(profile: "corp", naming: request) == nil
                case .certificate:
                    return try await control.certificate(profile: "corp", serialNumber: "0a1b") == nil
                case .poll:
                    return try await control.poll(profile: "corp", transactionID: "tx-1") == nil
                }
            }
            if isOwn {
                #expect(try await read())
            } else {
                let error = await #expect(throws: IssuanceUnavailable.self) { try await read() }
                #expect(error.map { "\($0)" }?.contains("SCEPTER_CONTROL_URL") == true, "\(String(describing: error))")
            }
            running.cancel()
            try await running.value
        }
    }
}
