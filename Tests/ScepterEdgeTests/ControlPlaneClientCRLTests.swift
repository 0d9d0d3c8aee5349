import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import X509
import ScepterEdge
import ScepterProtocol

/// A GetCRL naming a CA reaches the control plane's CRL route; only the
/// control plane's own "no such CA" 404 is an unknown CA (badCertId). Any
/// other 404 (a proxy's, another server's at `SCEPTER_CONTROL_URL`) is an
/// outage the edge answers as one.
@Suite("The edge's CRL call: only the control plane's own 404 is an unknown CA", .timeLimit(.minutes(1)))
struct ControlPlaneClientCRLTests {
    @Test(arguments: [("profile corp " + InternalAPI.unknownCRLIssuer, true), ("404 page not found", false)])
    func notFound(body: String, isUnknownCA: Bool) async throws {
        let router = Router()
        router.get("/internal/v1/profiles/:profile/crl") { _, _ in
            Response(status: .notFound, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let control = ControlPlaneClient(baseURL: "http://127.0.0.1:\(port)", token: "edge-token", profiles: [], logger: Logger(label: "test"))
            // run() shuts the HTTP client down once cancelled.
            let running = Task { try await control.run() }
            defer { running.cancel() }
            let request = IssuerAndSerial(issuer: try DistinguishedName { CommonName("Some CA") }, serialNumber: .init(bytes: [0x01]))
            if isUnknownCA {
                #expect(try await control.crl(profile: "corp", naming: request) == nil)
            } else {
                await #expect(throws: IssuanceUnavailable.self) { try await control.crl(profile: "corp", naming: request) }
            }
            running.cancel()
            try await running.value
        }
    }
}
