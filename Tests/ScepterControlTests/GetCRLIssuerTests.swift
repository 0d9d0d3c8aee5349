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
/// a CA retired by a rollover too, told apart from a CA of the same name by
/// the request's serial, in process and over the internal API.
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

    /// A GetCRL's content: `name`, and a serial the inventory does not hold unless given.
    static func request(_ name: DistinguishedName, serial: Certificate.SerialNumber = .init(bytes: [0x7F, 0x01])) -> IssuerAndSerial {
        IssuerAndSerial(issuer: name, serialNumber: serial)
    }

    static func der(_ request: IssuerAndSerial) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return serializer.serializedBytes
    }

    @Test("After a rollover, a name of the retired CA gets the retired CA's CRL, signed by it and listing its revocations")
    func retiredCAsCRL() async throws {
        try await IssuanceHarness.run { harness in
            let old = try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued)
            let (after, next) = try Self.rolledOver(harness)
            _ = try await harness.store.revoke(
                Revocation(serialNumber: old.serialNumber, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })

            let oldCRL = try #require(try await after.crl(profile: "corp", naming: Self.request(harness.caIdentity.certificate.subject)))
            let parsed = try ParsedCRL(derEncoded: oldCRL)
            #expect(parsed.issuer == harness.caIdentity.certificate.subject)
            #expect(parsed.revoked?.count == 1)
            // openssl verifies its signature under the retired CA.
            _ = try await CRLBuilderTests.opensslCheck(crl: oldCRL, caPEM: harness.caIdentity.certificatePEM)

            // The current CA's name, and no name at all (an edge older than the parameter): the current CA's CRL.
            let currentCRL = try #require(try await after.crl(profile: "corp", naming: Self.request(next.certificate.subject)))
            #expect(try ParsedCRL(derEncoded: currentCRL).issuer == next.certificate.subject)
            #expect(try ParsedCRL(derEncoded: currentCRL).revoked == nil)
            _ = try await CRLBuilderTests.opensslCheck(crl: currentCRL, caPEM: next.certificatePEM)
            #expect(try await after.crl(profile: "corp", naming: nil) == currentCRL)
        }
    }

    @Test("A name re-encoded as a client may (string type, case, spacing) still picks its CA")
    func reencodedName() async throws {
        try await IssuanceHarness.run { harness in
            let (after, next) = try Self.rolledOver(harness)
            for identity in [harness.caIdentity, next] {
                let name = try TestPKI.reencoded(identity.certificate.subject)
                #expect(try Self.der(name) != (try Self.der(identity.certificate.subject)))
                let crl = try #require(try await after.crl(profile: "corp", naming: Self.request(name)))
                #expect(try ParsedCRL(derEncoded: crl).issuer == identity.certificate.subject)
            }
        }
    }

    @Test("A name no configured issuer's CA has gets nil; an unknown profile is still unavailable")
    func unknownName() async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            let stranger = try DistinguishedName { CommonName("Somebody Else's CA") }
            #expect(try await after.crl(profile: "corp", naming: Self.request(stranger)) == nil)
            // A CA name with an attribute more is another name.
            let longer = DistinguishedName(
                harness.caIdentity.certificate.subject + [RelativeDistinguishedName(.init(type: .RDNAttributeType.organizationName, utf8String: "X"))])
            #expect(try await after.crl(profile: "corp", naming: Self.request(longer)) == nil)
            await #expect(throws: IssuanceUnavailable.self) { try await after.crl(profile: "nope", naming: Self.request(stranger)) }
        }
    }

    @Test("Old and new CA with one name (scepter ca init's default): the serial picks the CA that issued it, an unknown one the current CA")
    func sameNameTellsCAsApartBySerial() async throws {
        try await IssuanceHarness.run { harness in
            let old = try Certificate(derEncoded: try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued).certificate)
            let subject = harness.caIdentity.certificate.subject
            // The rollover with a new CA named exactly like the old one.
            let nextIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity)
            #expect(nextIdentity.certificate.subject == subject)
            let next = try ControlFixtures.localCA(nextIdentity, name: "corp-ca-2")
            let after = IssuanceService(
                configuration: ControlConfiguration(
                    profiles: [ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile())], issuers: [harness.ca]),
                store: harness.store, logger: ControlFixtures.logger)
            let oldCRL = try #require(try await after.crl(profile: "corp", naming: Self.request(subject, serial: old.serialNumber)))
            #expect(oldCRL == (try #require(try await after.crls.crl(issuer: "corp-ca")).der), "the old certificate's CA, by its serial")
            _ = try await CRLBuilderTests.opensslCheck(crl: oldCRL, caPEM: harness.caIdentity.certificatePEM)
            let unknown = try #require(try await after.crl(profile: "corp", naming: Self.request(subject)))
            #expect(unknown == (try #require(try await after.crls.crl(issuer: "corp-ca-2")).der), "a serial the inventory lacks: the current CA")
            // The serial travels over the internal API too.
            try await Application(router: Self.routes(after)).test(.router) { client in
                let uri = InternalAPI.crlPath(profile: "corp", naming: try Self.der(Self.request(subject, serial: old.serialNumber)))
                try await client.execute(uri: uri, method: .get, headers: Self.headers) { response in
                    #expect(response.status == .ok)
                    #expect(Array(response.body.readableBytesView) == oldCRL)
                }
            }
        }
    }

    @Test("A profile moved off a CA another profile keeps: its old certificates get that CA's CRL; a CA's own serial picks that CA; an issuer no longer configured gets nil")
    func serialsOfMovedProfilesAndCAs() async throws {
        try await IssuanceHarness.run { harness in
            let old = try Certificate(derEncoded: try #require(try await harness.service.enroll(IssuanceHarness.job(try Device())).issued).certificate)
            let subject = harness.caIdentity.certificate.subject
            // corp moves to corp-ca-2 (named like corp-ca); guest still issues from corp-ca.
            let nextIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA", keyUnlike: harness.caIdentity)
            let next = try ControlFixtures.localCA(nextIdentity, name: "corp-ca-2")
            let service = IssuanceService(
                configuration: ControlConfiguration(
                    profiles: [
                        ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile()),
                        ControlConfiguration.Profile(name: "guest", issuer: harness.ca, policy: CertificateProfile()),
                    ]),
                store: harness.store, logger: ControlFixtures.logger)
            let oldCA = try #require(try await service.crls.crl(issuer: "corp-ca")).der
            let nextCA = try #require(try await service.crls.crl(issuer: "corp-ca-2")).der
            #expect(try await service.crl(profile: "corp", naming: Self.request(subject, serial: old.serialNumber)) == oldCA)
            // The CA certificate's own serial (some clients send it): that CA, if it is this profile's to answer for.
            #expect(try await service.crl(profile: "corp", naming: Self.request(subject, serial: nextIdentity.certificate.serialNumber)) == nextCA)
            #expect(try await service.crl(profile: "corp", naming: Self.request(subject, serial: harness.caIdentity.certificate.serialNumber)) == nil)
            #expect(try await service.crl(profile: "guest", naming: Self.request(subject, serial: harness.caIdentity.certificate.serialNumber)) == oldCA)

            // corp-ca removed altogether: no CRL here can list the old certificate, so none is answered for it.
            let forgotten = IssuanceService(
                configuration: ControlConfiguration(profiles: [ControlConfiguration.Profile(name: "corp", issuer: next, policy: CertificateProfile())]),
                store: harness.store, logger: ControlFixtures.logger)
            #expect(try await forgotten.crl(profile: "corp", naming: Self.request(subject, serial: old.serialNumber)) == nil)
            #expect(try await forgotten.crl(profile: "corp", naming: Self.request(subject)) != nil, "an unknown serial: the current CA")
        }
    }

    @Test("Another profile's CA is not this profile's to answer for; retired CAs of one name: the first by issuer name")
    func otherProfilesAndRetiredTwins() async throws {
        try await IssuanceHarness.run { harness in
            let guestIdentity = try TestPKI.makeCA(commonName: "Guest CA", keyUnlike: harness.caIdentity)
            let guest = try ControlFixtures.localCA(guestIdentity, name: "guest-ca")
            let twinA = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Retired CA", keyUnlike: harness.caIdentity), name: "a-retired")
            let twinZ = try ControlFixtures.localCA(try TestPKI.makeCA(commonName: "Retired CA", keyUnlike: harness.caIdentity), name: "z-retired")
            let service = IssuanceService(
                configuration: ControlConfiguration(
                    profiles: [
                        ControlConfiguration.Profile(name: "corp", issuer: harness.ca, policy: CertificateProfile()),
                        ControlConfiguration.Profile(name: "guest", issuer: guest, policy: CertificateProfile()),
                    ], issuers: [twinZ, twinA]),
                store: harness.store, logger: ControlFixtures.logger)
            #expect(try await service.crl(profile: "corp", naming: Self.request(guestIdentity.certificate.subject)) == nil)
            #expect(try await service.crl(profile: "guest", naming: Self.request(guestIdentity.certificate.subject)) != nil)
            let retired = try #require(try await service.crl(profile: "corp", naming: Self.request(twinA.certificate.subject)))
            #expect(retired == (try #require(try await service.crls.crl(issuer: "a-retired")).der))
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
                    let uri = InternalAPI.crlPath(profile: "corp", naming: try Self.der(Self.request(try TestPKI.reencoded(name))))
                    #expect(uri.hasPrefix("/internal/v1/profiles/corp/crl?issuerAndSerial="))
                    #expect(uri.filter { $0 == "=" }.count == 1, "base64url without padding")
                    try await client.execute(uri: uri, method: .get, headers: Self.headers) { response in
                        #expect(response.status == .ok)
                        #expect(Array(response.body.readableBytesView) == expected)
                    }
                }
                let stranger = InternalAPI.crlPath(profile: "corp", naming: try Self.der(Self.request(try DistinguishedName { CommonName("Nobody's CA") })))
                try await client.execute(uri: stranger, method: .get, headers: Self.headers) { response in
                    #expect(response.status == .notFound)
                    #expect(String(buffer: response.body).contains("profile corp answers for no CA of that name"))
                }
                // Without the edge token, nothing.
                try await client.execute(uri: stranger, method: .get) { response in #expect(response.status == .unauthorized) }
            }
        }
    }

    @Test(
        "The internal CRL route answers a malformed or oversized issuerAndSerial parameter with 400 naming the problem",
        arguments: [
            ("!!!not-base64", "is not base64url"),
            ("", "is empty"),
            ("AAAA", "is not the DER of an IssuerAndSerialNumber"),
            // 4,101 bytes of DER, in base64url: refused by the text's length.
            (String(repeating: "A", count: 5464 + 4), "is over 4096 bytes of DER"),
            // 4,097 bytes of DER: a text short enough, refused once decoded.
            (String(repeating: "A", count: 5463), "is over 4096 bytes of DER"),
        ])
    func malformedParameter(parameter: String, problem: String) async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            try await Application(router: Self.routes(after)).test(.router) { client in
                try await client.execute(uri: "/internal/v1/profiles/corp/crl?issuerAndSerial=\(parameter)", method: .get, headers: Self.headers) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains(problem), "\(String(buffer: response.body))")
                }
            }
        }
    }

    @Test("A request of exactly 4096 bytes of DER is read (and names no CA); the bound is on the DER, not the text")
    func largestParameter() async throws {
        try await IssuanceHarness.run { harness in
            let (after, _) = try Self.rolledOver(harness)
            // One attribute whose value makes the request 4096 bytes of DER: the headers' size measured at a similar length.
            func request(_ length: Int) throws -> [UInt8] {
                try Self.der(Self.request(try DistinguishedName { OrganizationName(String(repeating: "o", count: length)) }))
            }
            let der = try request(4096 - (try request(4000).count - 4000))
            #expect(der.count == 4096)
            try await Application(router: Self.routes(after)).test(.router) { client in
                try await client.execute(uri: InternalAPI.crlPath(profile: "corp", naming: der), method: .get, headers: Self.headers) { response in
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
            try await client.execute(uri: "/internal/v1/profiles/corp/crl?issuerAndSerial=MAA", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "the profile's CRL")
            }
        }
    }
}
