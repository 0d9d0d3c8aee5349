import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwiftASN1
import Testing
import X509
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

/// GetCRL answers the CRL of the CA the request names (RFC 8894 §3.3.4),
/// a CA retired by a rollover too, in process and over the internal API.
@Suite("GetCRL: the CRL of the named CA", .timeLimit(.minutes(2)))
struct GetCRLIssuerTests {
    static let edgeToken = "edge-token-" + String(repeating: "g", count: 32)

    /// The harness's CA (`corp-ca`) retired by a rollover to `corp-ca-2`, as docs/ca.md describes it.
    static func rolledOver(_ harness: IssuanceHarness, extra: [LocalCA] = []) throws -> (service: IssuanceService, next: TestPKI.Identity) {
        let nextIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA 2026", keyUnlike: harness.caIdentity)
        let next = try ControlFixtures.localCA(nextIdentity, name: "corp-ca-2")
        let configuration = ControlConfiguration(
            profiles: [ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile())], issuers: [harness.ca] + extra)
        return (IssuanceService(configuration: configuration, store: harness.store, logger: ControlFixtures.logger), nextIdentity)
    }

    static func der(_ name: DistinguishedName) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try name.serialize(into: &serializer)
        return serializer.serializedBytes
    }

    @Test("After a rollover, a name of the retired CA gets the retired CA's CRL, signed by it and listing its revocations")
    func retiredCAsCRL() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            let (after, next) = try Self.rolledOver(harness)
            _ = try await harness.store.revoke(
                Revocation(serialNumber: old.serialNumber, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })

            let oldCRL = try #require(try await after.crl(profile: "corp", issuer: harness.caIdentity.certificate.subject))
            let parsed = try ParsedCRL(derEncoded: oldCRL)
            #expect(parsed.issuer == harness.caIdentity.certificate.subject)
            #expect(parsed.revoked?.count == 1)
            // openssl verifies its signature under the retired CA.
            _ = try await CRLBuilderTests.opensslCheck(crl: oldCRL, caPEM: harness.caIdentity.certificatePEM)

            // The current CA's name, and no name at all (an edge older than the parameter): the current CA's CRL.
            let currentCRL = try #require(try await after.crl(profile: "corp", issuer: next.certificate.subject))
            #expect(try ParsedCRL(derEncoded: currentCRL).issuer == next.certificate.subject)
            #expect(try ParsedCRL(derEncoded: currentCRL).revoked == nil)
            _ = try await CRLBuilderTests.opensslCheck(crl: currentCRL, caPEM: next.certificatePEM)
            #expect(try await after.crl(profile: "corp", issuer: nil) == currentCRL)
        }
    }

    @Test("A name re-encoded as a client may (string type, case, spacing) still picks its CA")
    func reencodedName() async throws {
        try await IssuanceHarness.run { harness in
            let (after, next) = try Self.rolledOver(harness)
            for identity in [harness.caIdentity, next] {
                let name = try TestPKI.reencoded(identity.certificate.subject)
                #expect(try Self.der(name) != (try Self.der(identity.certificate.subject)))
                let crl = try #require(try await after.crl(profile: "corp", issuer: name))
                #expect(try ParsedCRL(derEncoded: crl).issuer == identity.certificate.subject)
            }
        }
    }

    @Test("A name no configured issuer's CA has gets nil; an unknown profile is still unavailable")
    func unknownName() async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            let stranger = try DistinguishedName { CommonName("Somebody Else's CA") }
            #expect(try await after.crl(profile: "corp", issuer: stranger) == nil)
            // A CA name with an attribute more is another name.
            let longer = DistinguishedName(
                harness.caIdentity.certificate.subject + [RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, utf8String: "X"))])
            #expect(try await after.crl(profile: "corp", issuer: longer) == nil)
            await #expect(throws: IssuanceUnavailable.self) { try await after.crl(profile: "nope", issuer: stranger) }
        }
    }

    @Test("Several CAs with one name: the profile's current issuer first, then the issuer name first in order")
    func sameNameTieBreak() async throws {
        try await IssuanceHarness.run { harness in
            let subject = harness.caIdentity.certificate.subject
            // Two more CAs named like the retired one, under issuer names before and after it.
            let twinA = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity), name: "a-twin")
            let twinZ = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity), name: "z-twin")
            let (after, _) = try Self.rolledOver(harness, extra: [twinZ, twinA])
            let picked = try #require(try await after.crl(profile: "corp", issuer: subject))
            #expect(picked == (try #require(try await after.crls.crl(issuer: "a-twin")).der))

            // The profile's current issuer wins over an issuer name earlier in order.
            let current = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity), name: "m-current")
            let service = IssuanceService(
                configuration: ControlConfiguration(
                    profiles: [ControlConfiguration.Profile(name: "corp", issuer: current, policy: CertificateProfile())],
                    issuers: [harness.ca, twinA, twinZ]),
                store: harness.store, logger: ControlFixtures.logger)
            let preferred = try #require(try await service.crl(profile: "corp", issuer: subject))
            #expect(preferred == (try #require(try await service.crls.crl(issuer: "m-current")).der))
        }
    }

    // MARK: The internal API

    static func routes(_ service: IssuanceService) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        InternalRoutes(issuance: service, tokens: BearerTokens(edge: ["edge:\(Self.edgeToken)"]), logger: ControlFixtures.logger).add(to: router)
        return router
    }

    static let headers: HTTPFields = [.authorization: "Bearer \(edgeToken)"]

    @Test("The internal CRL route: no issuer parameter (an older edge) answers the profile's CRL; a named CA its own; an unknown name 404")
    func internalRoute() async throws {
        try await IssuanceHarness.run { harness in
            let (after, next) = try Self.rolledOver(harness)
            let current = try #require(try await after.crls.crl(issuer: "corp-ca-2")).der
            let retired = try #require(try await after.crls.crl(issuer: "corp-ca")).der
            try await Application(router: Self.routes(after)).test(.router) { client in
                try await client.execute(uri: "/internal/v1/profiles/corp/crl", method: .get, headers: Self.headers) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "application/pkix-crl")
                    #expect(Array(response.body.readableBytesView) == current)
                }
                let named = [(harness.caIdentity.certificate.subject, retired), (next.certificate.subject, current)]
                for (name, expected) in named {
                    let uri = InternalAPI.crlPath(profile: "corp", issuerDER: try Self.der(try TestPKI.reencoded(name)))
                    #expect(uri.hasPrefix("/internal/v1/profiles/corp/crl?issuer="))
                    #expect(uri.filter { $0 == "=" }.count == 1, "base64url without padding")
                    try await client.execute(uri: uri, method: .get, headers: Self.headers) { response in
                        #expect(response.status == .ok)
                        #expect(Array(response.body.readableBytesView) == expected)
                    }
                }
                let stranger = InternalAPI.crlPath(profile: "corp", issuerDER: try Self.der(try DistinguishedName { CommonName("Nobody's CA") }))
                try await client.execute(uri: stranger, method: .get, headers: Self.headers) { response in
                    #expect(response.status == .notFound)
                    #expect(String(buffer: response.body).contains("no configured issuer's CA has that name"))
                }
                // Without the edge token, nothing.
                try await client.execute(uri: stranger, method: .get) { response in #expect(response.status == .unauthorized) }
            }
        }
    }

    @Test(
        "The internal CRL route answers a malformed or oversized issuer parameter with 400 naming the problem",
        arguments: [
            ("!!!not-base64", "is not base64url"),
            ("", "is empty"),
            ("AAAA", "is not the DER of an X.501 Name"),
            // 4,097 bytes of DER, in base64url.
            (String(repeating: "A", count: 5464 + 4), "is over 4096 bytes of DER"),
        ])
    func malformedParameter(parameter: String, problem: String) async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            try await Application(router: Self.routes(after)).test(.router) { client in
                try await client.execute(uri: "/internal/v1/profiles/corp/crl?issuer=\(parameter)", method: .get, headers: Self.headers) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains(problem), "\(String(buffer: response.body))")
                }
            }
        }
    }

    @Test("A name of exactly 4096 bytes of DER is read (and matches no CA); the bound is on the DER, not the text")
    func largestParameter() async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            // One attribute whose value makes the Name 4096 bytes of DER: the headers' size measured at a similar length.
            func name(_ length: Int) throws -> [UInt8] {
                try Self.der(try DistinguishedName { OrganizationName(String(repeating: "o", count: length)) })
            }
            let der = try name(4096 - (try name(4000).count - 4000))
            #expect(der.count == 4096)
            try await Application(router: Self.routes(after)).test(.router) { client in
                try await client.execute(uri: InternalAPI.crlPath(profile: "corp", issuerDER: der), method: .get, headers: Self.headers) { response in
                    #expect(response.status == .notFound, "\(String(buffer: response.body))")
                }
            }
        }
    }

    @Test("Hummingbird routes on the path alone: a control plane that predates the parameter ignores it")
    func unknownQueryItemsAreIgnored() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/internal/v1/profiles/:profile/crl") { _, _ in "the profile's CRL" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/internal/v1/profiles/corp/crl?issuer=MAA", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "the profile's CRL")
            }
        }
    }
}
