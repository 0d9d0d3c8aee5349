import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwiftASN1
import Testing
import X509
import ScepterControl
import ScepterEmbedded
import ScepterProtocol
import ScepterTesting

/// `GET /crl/{issuer}.crl` and the CRL distribution point in issued certificates (SPEC §8 "Public").
@Suite("Public CRL", .timeLimit(.minutes(5)))
struct PublicCRLTests {
    struct Fetched {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: [UInt8]
    }

    static func fetch(_ harness: EmbeddedHarness, _ path: String, method: HTTPRequest.Method = .get, ifNoneMatch: String? = nil) async throws
        -> Fetched
    {
        var fields = HTTPFields()
        if let ifNoneMatch { fields[.ifNoneMatch] = ifNoneMatch }
        let headers = fields
        return try await harness.test { client in
            try await client.execute(uri: path, method: method, headers: headers) { Fetched(status: $0.status, headers: $0.headers, body: Array($0.body.readableBytesView)) }
        }
    }

    @Test("The CRL verifies, is cached until a revocation, then lists it with its reason; openssl verify -crl_check sees it")
    func crlFollowsRevocations() async throws {
        let harness = try await EmbeddedHarness.make(environment: ["SCEPTER_PUBLIC_URL": "https://pki.example.test/"])
        let directory = try Shell.temporaryDirectory()
        let caPath = directory.appendingPathComponent("ca.pem").path
        try harness.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)

        // A certificate names the distribution point.
        let device = try TestDevice(commonName: "crl-device", challenge: harness.server.challenge)
        let (_, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra)) }
        let der = try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first)
        let certificatePath = directory.appendingPathComponent("device.pem").path
        try PEM.encode(der, label: "CERTIFICATE").write(toFile: certificatePath, atomically: true, encoding: .utf8)
        let text = try await Shell.openssl("x509", "-in", certificatePath, "-noout", "-text").stdout
        #expect(text.contains("URI:https://pki.example.test/crl/dev.crl"), "\(text)")
        #expect(text.contains("OCSP - URI:https://pki.example.test/ocsp/dev"), "\(text)")
        let serial = try Certificate(derEncoded: der).serialNumber.hexString

        let first = try await Self.fetch(harness, "/crl/dev.crl")
        #expect(first.status == .ok)
        #expect(first.headers[.contentType] == "application/pkix-crl")
        #expect(first.headers[.cacheControl]?.contains("max-age=") == true)
        #expect(first.headers[.expires] != nil)
        let tag = try #require(first.headers[.eTag])
        let crlPath = directory.appendingPathComponent("dev.crl").path
        try Shell.write(first.body, to: URL(fileURLWithPath: crlPath))
        #expect(try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-CAfile", caPath, "-noout").status == 0)
        let crlPEM = directory.appendingPathComponent("dev-crl.pem").path
        _ = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-out", crlPEM)
        #expect(try await Shell.openssl("verify", "-crl_check", "-CAfile", caPath, "-CRLfile", crlPEM, certificatePath).status == 0)

        let again = try await Self.fetch(harness, "/crl/dev.crl")
        #expect(again.body == first.body, "served from the cache, not signed again")
        #expect(try await Self.fetch(harness, "/crl/dev.crl", ifNoneMatch: tag).status == .notModified)

        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(harness.server.adminToken)"
        let headers = fields
        let revoked = try await harness.test { client in
            try await client.execute(
                uri: "/api/v1/certificates/\(serial)/revoke", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"reason":"keyCompromise","invalidityDate":"2026-06-01T12:00:00Z"}"#)) { $0.status }
        }
        #expect(revoked == .ok)

        let after = try await Self.fetch(harness, "/crl/dev.crl")
        #expect(after.headers[.eTag] != tag)
        try Shell.write(after.body, to: URL(fileURLWithPath: crlPath))
        let listing = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-noout", "-text").stdout
        #expect(listing.lowercased().replacingOccurrences(of: ":", with: "").contains("serial number \(serial)"), "\(listing)")
        #expect(listing.contains("Key Compromise"), "\(listing)")
        #expect(listing.contains("Invalidity Date"), "\(listing)")
        _ = try await Shell.openssl("crl", "-inform", "DER", "-in", crlPath, "-out", crlPEM)
        let refused = try await Shell.openssl("verify", "-crl_check", "-CAfile", caPath, "-CRLfile", crlPEM, certificatePath)
        #expect(refused.status != 0)
        #expect((refused.stdout + refused.stderr).contains("certificate revoked"))
    }

    @Test("HEAD answers as GET does, with the CRL's Content-Length, without the body")
    func head() async throws {
        let harness = try await EmbeddedHarness.make()
        let get = try await Self.fetch(harness, "/crl/dev.crl")
        let head = try await Self.fetch(harness, "/crl/dev.crl", method: .head)
        #expect(head.status == .ok)
        #expect(head.body.isEmpty)
        #expect(!get.body.isEmpty && head.headers[.contentLength] == "\(get.body.count)", "\(head.headers)")
        #expect(head.headers[.eTag] == get.headers[.eTag] && head.headers[.contentType] == "application/pkix-crl")
    }

    @Test("Unknown issuers and malformed names are 404", arguments: ["/crl/nobody.crl", "/crl/dev", "/crl/.crl"])
    func unknown(_ path: String) async throws {
        let harness = try await EmbeddedHarness.make()
        #expect(try await Self.fetch(harness, path).status == .notFound)
    }
}
