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

/// Certificates, revocation, audit and profiles over the admin API in `scepter dev` (SPEC §8).
@Suite("Admin API: inventory, revocation, audit, profiles", .timeLimit(.minutes(5)))
struct InventoryAPITests {
    static let viewer = "viewer-token-\(UUID().uuidString)"

    struct Answer {
        var status: HTTPResponse.Status
        var json: [String: Any]?
        var text: String
    }

    static func call(_ harness: EmbeddedHarness, _ path: String, token: String?) async throws -> Answer {
        try await call(harness, .get, path, token: token)
    }

    static func call(_ harness: EmbeddedHarness, _ method: HTTPRequest.Method, _ path: String, token: String?, body: String? = nil) async throws -> Answer {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        if body != nil { fields[.contentType] = "application/json" }
        let headers = fields
        let (status, bytes) = try await harness.test { client in
            try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                (response.status, Array(response.body.readableBytesView))
            }
        }
        return Answer(status: status, json: (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any], text: String(decoding: bytes, as: UTF8.self))
    }

    /// A dev server with three certificates issued to LAPTOP-1..3.
    static func enrolled() async throws -> (EmbeddedHarness, [String]) {
        let harness = try await EmbeddedHarness.make(environment: ["SCEPTER_VIEWER_TOKENS": "auditor:\(viewer)"])
        var serials: [String] = []
        for index in 1...3 {
            let device = try TestDevice(commonName: "LAPTOP-\(index)", challenge: harness.server.challenge)
            let (_, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra)) }
            let der = try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first)
            serials.append(try Certificate(derEncoded: der).serialNumber.hexString)
        }
        return (harness, serials)
    }

    static func items(_ answer: Answer) -> [[String: Any]] { answer.json?["items"] as? [[String: Any]] ?? [] }

    @Test("Search: filters, newest first, and cursor pages that cover everything once")
    func searchAndPages() async throws {
        let (harness, serials) = try await Self.enrolled()
        let all = try await Self.call(harness, "/api/v1/certificates", token: Self.viewer)
        #expect(all.status == .ok, "\(all.text)")
        #expect(Self.items(all).compactMap { $0["serial"] as? String } == serials.reversed())
        #expect(Self.items(all).first?["state"] as? String == "active")

        let one = try await Self.call(harness, "/api/v1/certificates?q=laptop-2", token: Self.viewer)
        #expect(Self.items(one).compactMap { $0["serial"] as? String } == [serials[1]])

        var seen: [String] = []
        var path = "/api/v1/certificates?limit=2"
        for _ in 0..<5 {
            let page = try await Self.call(harness, path, token: Self.viewer)
            seen += Self.items(page).compactMap { $0["serial"] as? String }
            guard let cursor = page.json?["nextCursor"] as? String else { break }
            path = "/api/v1/certificates?limit=2&cursor=\(cursor)"
        }
        #expect(seen == serials.reversed())
    }

    @Test("Detail: PEM, chain, enrollment and the audit trail")
    func detail() async throws {
        let (harness, serials) = try await Self.enrolled()
        let answer = try await Self.call(harness, "/api/v1/certificates/\(serials[0])", token: Self.viewer)
        #expect(answer.status == .ok, "\(answer.text)")
        let pem = try #require(answer.json?["pem"] as? String)
        #expect(try Certificate(pemEncoded: pem).serialNumber.hexString == serials[0])
        #expect((answer.json?["chain"] as? [String])?.count == 1)
        #expect((answer.json?["enrollment"] as? [String: Any])?["messageType"] as? String == "PKCSReq")
        let audit = answer.json?["audit"] as? [[String: Any]]
        #expect(audit?.contains { $0["operation"] as? String == "PKIOperation" && $0["outcome"] as? String == "success" } == true)
        #expect(try await Self.call(harness, "/api/v1/certificates/0badc0ffee", token: Self.viewer).status == .notFound)
    }

    @Test("Revoke: admin only, audited with the token's name, idempotent, on the CRL GetCRL serves")
    func revoke() async throws {
        let (harness, serials) = try await Self.enrolled()
        let path = "/api/v1/certificates/\(serials[0])/revoke"
        let body = #"{"reason":"keyCompromise","invalidityDate":"2026-01-01T00:00:00Z"}"#

        let anonymous = try await Self.call(harness, .post, path, token: nil, body: body)
        #expect(anonymous.status == .unauthorized)
        #expect((anonymous.json?["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        let viewer = try await Self.call(harness, .post, path, token: Self.viewer, body: body)
        #expect(viewer.status == .forbidden)
        #expect((viewer.json?["error"] as? [String: Any])?["message"] as? String != nil)

        let first = try await Self.call(harness, .post, path, token: harness.server.adminToken, body: body)
        #expect(first.status == .ok, "\(first.text)")
        #expect(first.json?["alreadyRevoked"] as? Bool == false)
        let revoked = (first.json?["certificate"] as? [String: Any])
        #expect(revoked?["state"] as? String == "revoked")
        let revocation = revoked?["revocation"] as? [String: Any]
        #expect(revocation?["reason"] as? String == "keyCompromise")
        #expect(revocation?["actor"] as? String == "dev")
        #expect(revocation?["invalidityDate"] as? String == "2026-01-01T00:00:00Z")

        let again = try await Self.call(harness, .post, path, token: harness.server.adminToken, body: #"{"reason":"superseded"}"#)
        #expect(again.json?["alreadyRevoked"] as? Bool == true)
        #expect(((again.json?["certificate"] as? [String: Any])?["revocation"] as? [String: Any])?["reason"] as? String == "keyCompromise")

        let audit = try await Self.call(harness, "/api/v1/audit?operation=revoke", token: Self.viewer)
        #expect(Self.items(audit).count == 2)
        #expect(Self.items(audit).contains { ($0["details"] as? String)?.hasPrefix("revoked by dev") == true })

        let state = try await Self.call(harness, "/api/v1/certificates?state=revoked", token: Self.viewer)
        #expect(Self.items(state).compactMap { $0["serial"] as? String } == [serials[0]])

        // GetCRL over SCEP lists it.
        let ca = try harness.caCertificate
        let device = try TestDevice(commonName: "crl-reader", challenge: harness.server.challenge)
        let signer = try device.signer.keyPair()
        var coder = DER.Serializer()
        try coder.serialize(IssuerAndSerial(issuer: ca.subject, serialNumber: Certificate.SerialNumber(bytes: [1])))
        let getCRL = try SCEPClient.request(.getCRL, content: coder.serializedBytes, transactionID: "tx-crl", recipient: harness.ra, signer: signer)
        let crl = try SCEPClient.readReply(try await harness.test { try await $0.pkiOperation(getCRL).1 }, requester: signer)
        let directory = try Shell.temporaryDirectory()
        try Shell.write(try #require(crl.crls.first), to: directory.appendingPathComponent("ca.crl"))
        let text = try await Shell.openssl("crl", "-inform", "DER", "-in", directory.appendingPathComponent("ca.crl").path, "-noout", "-text").stdout
        #expect(text.lowercased().replacingOccurrences(of: ":", with: "").contains("serial number \(serials[0])"), "\(text)")
    }

    @Test(
        "Bad input is a 400 naming the parameter; unknown serials 404; the server keeps serving",
        arguments: [
            ("/api/v1/certificates?state=lost", HTTPResponse.Status.badRequest, "state"),
            ("/api/v1/certificates?limit=0", .badRequest, "limit"),
            ("/api/v1/certificates?limit=abc", .badRequest, "limit"),
            ("/api/v1/certificates?issuedSince=yesterday", .badRequest, "issuedSince"),
            ("/api/v1/certificates?cursor=AAAA", .badRequest, "cursor"),
            ("/api/v1/certificates?cursor=" + String(repeating: "x", count: 600), .badRequest, "cursor"),
            ("/api/v1/certificates?colour=red", .badRequest, "colour"),
            // Endpoints that take no query parameters refuse one too.
            ("/api/v1/certificates/abcdef?colour=red", .badRequest, "colour"),
            ("/api/v1/profiles?colour=red", .badRequest, "colour"),
            ("/api/v1/issuers?colour=red", .badRequest, "colour"),
            ("/api/v1/session?colour=red", .badRequest, "colour"),
            ("/api/v1/overview?colour=red", .badRequest, "colour"),
            ("/api/v1/certificates?serial=not-hex", .badRequest, "serial"),
            ("/api/v1/certificates/zz", .badRequest, "serial"),
            ("/api/v1/audit?outcome=fine", .badRequest, "outcome"),
            ("/api/v1/audit?operation=Delete", .badRequest, "operation"),
            ("/api/v1/certificates/abcdef", .notFound, "abcdef"),
            ("/api/v1/certificates/ab%3Acd", .notFound, "abcd"),
            ("/api/v1/certificates?serial=%EF%BC%A1", .badRequest, "serial"),
            // {"key":1e300,"id":"x"}: a forged cursor whose time no store can hold.
            ("/api/v1/audit?cursor=eyJrZXkiOjFlMzAwLCJpZCI6IngifQ", .badRequest, "cursor"),
            ("/api/v1/certificates?cursor=eyJrZXkiOjFlMzAwLCJpZCI6IngifQ", .badRequest, "cursor"),
            ("/api/v1/audit?since=2024-01-01T25:00:00Z", .badRequest, "since"),
            ("/api/v1/audit?since=2024-02-30T10:00:00Z", .badRequest, "since"),
            ("/api/v1/audit?until=2024-01-01T12:99:00Z", .badRequest, "until"),
            ("/api/v1/audit?since=12024-01-01T10:00:00Z", .badRequest, "since"),
            ("/api/v1/audit?since=2024-01-01T10:00:00+15:00", .badRequest, "since"),
        ])
    func badInput(_ input: (String, HTTPResponse.Status, String)) async throws {
        let harness = try await EmbeddedHarness.make(environment: ["SCEPTER_VIEWER_TOKENS": Self.viewer])
        let answer = try await Self.call(harness, input.0, token: Self.viewer)
        #expect(answer.status == input.1, "\(answer.text)")
        let message = (answer.json?["error"] as? [String: Any])?["message"] as? String
        #expect(message?.contains(input.2) == true, "\(answer.text)")
        #expect(try await Self.call(harness, "/api/v1/certificates", token: Self.viewer).status == .ok)
    }

    @Test("Revoke refuses a body that is not the documented JSON, and an unknown serial")
    func badRevocations() async throws {
        let (harness, serials) = try await Self.enrolled()
        let token = harness.server.adminToken
        for body in [
            #"{"reason":"lost"}"#, "not json", #"{"invalidityDate":"tomorrow"}"#, #"{"invalidityDate":"2024-01-01T12:99:00Z"}"#,
            String(repeating: "x", count: 5000),
        ] {
            let answer = try await Self.call(harness, .post, "/api/v1/certificates/\(serials[0])/revoke", token: token, body: body)
            #expect(answer.status == .badRequest || answer.status == .contentTooLarge, "\(body.prefix(20)): \(answer.text)")
        }
        let future = #"{"invalidityDate":"2999-01-01T00:00:00Z"}"#
        #expect(try await Self.call(harness, .post, "/api/v1/certificates/\(serials[0])/revoke", token: token, body: future).status == .badRequest)
        #expect(try await Self.call(harness, .post, "/api/v1/certificates/0badc0ffee/revoke", token: token).status == .notFound)
        #expect(try await harness.server.store.certificate(serialNumber: serials[0])?.status == .active)
    }

    @Test("A misspelt or mistyped member, or a query parameter, is a 400 naming it, and revokes nothing")
    func strictRevocationBodies() async throws {
        let (harness, serials) = try await Self.enrolled()
        let token = harness.server.adminToken
        let one = "/api/v1/certificates/\(serials[0])/revoke"
        let bulk = "/api/v1/certificates/revoke"
        for (path, body, named) in [
            // A dry run whose key is misspelt must not revoke for real.
            (bulk, #"{"selector":{"profile":"default"},"dryrun":true}"#, #"unknown member "dryrun" in the body (did you mean "dryRun"?)"#),
            (bulk, #"{"selector":{"profil":"default"},"dryRun":true}"#, #"unknown member "selector.profil""#),
            (bulk, #"{"selector":{"profile":"default"},"dryRun":"yes"}"#, "dryRun must be true or false"),
            (bulk, #"{"selector":{"profile":"default"},"dryRun":null}"#, "dryRun must be true or false, not null"),
            (bulk, #"{"selector":{"profile":"default"},"dryRun":true,"dryRun":false}"#, #"member "dryRun" is given twice in the body"#),
            (bulk, #"{"selector":{"issuedBefore":"soon"}}"#, "selector.issuedBefore must be an ISO 8601 time"),
            (bulk, #"{"selector":"default"}"#, "selector must be an object"),
            (bulk, #"{"selector":{"profile":"default"},"reason":"stolen"}"#, "reason must be one of unspecified, keyCompromise"),
            (bulk, #"{"reason":"keyCompromise"}"#, "the body needs selector"),
            (bulk, "[1]", "the body must be a JSON object"),
            (bulk + "?dryRun=true", #"{"selector":{"profile":"default"}}"#, #"unknown query parameter "dryRun"; this endpoint takes no query parameters"#),
            (one, #"{"Reason":"keyCompromise"}"#, #"unknown member "Reason" in the body (did you mean "reason"?); it takes reason, invalidityDate"#),
            (one, #"{"reason":"keyCompromise","invaliditydate":"2026-01-01T00:00:00Z"}"#, #"unknown member "invaliditydate""#),
            (one, #"{"invalidityDate":"last tuesday"}"#, "invalidityDate must be an ISO 8601 time"),
            (one, #"{"reason":7}"#, "reason must be one of"),
            (one + "?reason=keyCompromise", "", #"unknown query parameter "reason""#),
        ] {
            let answer = try await Self.call(harness, .post, path, token: token, body: body)
            #expect(answer.status == .badRequest, "\(body): \(answer.text)")
            let message = (answer.json?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(named), "\(body): \(message)")
        }
        for serial in serials {
            #expect(try await harness.server.store.certificate(serialNumber: serial)?.status == .active, "nothing was revoked")
        }
        // The documented members still work, null as absent.
        let dry = try await Self.call(harness, .post, bulk, token: token, body: #"{"selector":{"profile":"default","device":null},"dryRun":true,"reason":null}"#)
        #expect(dry.status == .ok, "\(dry.text)")
        #expect(dry.json?["matched"] as? Int == 3)
    }

    @Test("Profiles: the effective configuration, secrets only as set; each issuing CA's days left and badge")
    func profiles() async throws {
        // Beside the dev CA (ten years), a CA with ten and a half days left and one past its notAfter.
        let directory = try Shell.temporaryDirectory()
        var environment = [
            "SCEPTER_VIEWER_TOKENS": Self.viewer, "SCEPTER_ISSUERS": "soon,gone", "SCEPTER_PROFILES": "soon,gone",
            "SCEPTER_PROFILE_SOON_ISSUER": "soon", "SCEPTER_PROFILE_SOON_CHALLENGE_PASSWORD": "soon-static-challenge",
            "SCEPTER_PROFILE_GONE_ISSUER": "gone", "SCEPTER_PROFILE_GONE_CHALLENGE_PASSWORD": "gone-static-challenge",
        ]
        try Self.issuerFiles(
            [
                ("soon", Date().addingTimeInterval(-86_400), Date().addingTimeInterval(10.5 * 86_400)),
                ("gone", Date().addingTimeInterval(-30 * 86_400), Date().addingTimeInterval(-2.5 * 86_400)),
            ], in: directory, into: &environment)
        let harness = try await EmbeddedHarness.make(environment: environment)
        let before = Date()
        let answer = try await Self.call(harness, "/api/v1/profiles", token: Self.viewer)
        let after = Date()
        #expect(answer.status == .ok)
        let profiles = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [[String: Any]])
        let issuers = Dictionary(uniqueKeysWithValues: profiles.map { ($0["name"] as? String ?? "", $0["issuer"] as? [String: Any] ?? [:]) })
        #expect(issuers.keys.sorted() == ["default", "gone", "soon"])
        // The dev CA: green, its days counted as the server counts them at some moment of the request.
        let devNotAfter = try harness.caCertificate.notValidAfter
        let devDays = try #require(issuers["default"]?["daysLeft"] as? Int)
        #expect(
            (TrustAnchors.Anchor.daysLeft(until: devNotAfter, now: after)...TrustAnchors.Anchor.daysLeft(until: devNotAfter, now: before)).contains(devDays))
        #expect(devDays >= 30)
        #expect(issuers["default"]?["badge"] as? String == "green")
        #expect(issuers["soon"]?["name"] as? String == "soon")
        #expect(issuers["soon"]?["daysLeft"] as? Int == 10)
        #expect(issuers["soon"]?["badge"] as? String == "amber")
        #expect(issuers["gone"]?["daysLeft"] as? Int == -3, "rounded down, negative once past")
        #expect(issuers["gone"]?["badge"] as? String == "expired")
        let dev = try #require(profiles.first { $0["name"] as? String == "default" })
        #expect((dev["issuer"] as? [String: Any])?["name"] as? String == "dev")
        #expect((dev["policy"] as? [String: Any])?["allowedEKUs"] as? [String] == ["clientAuth"])
        // The edges' half: embedded mode's one edge, with the RA devices encrypt to and the static password only as set.
        let groups = try #require(dev["edges"] as? [[String: Any]])
        #expect(groups.count == 1)
        let settings = try #require(groups.first?["settings"] as? [String: Any])
        #expect((groups.first?["edges"] as? [String])?.count == 1)
        #expect(settings["challengePassword"] as? String == "set")
        #expect(settings["intuneMode"] as? String == "off")
        #expect(settings["renewalLimit"] as? Int == 3)
        #expect((settings["ra"] as? [String: Any])?["fingerprint"] as? String == SHA256Hex.of(harness.ra))
        #expect(!answer.text.contains(harness.server.challenge), "the static password never appears")
    }

    /// A CA of `CN=CA <name>` per issuer, its files in `directory`, named by `SCEPTER_ISSUER_<NAME>_CA_*_PATH` in `environment`.
    static func issuerFiles(_ issuers: [(name: String, notBefore: Date, notAfter: Date)], in directory: URL, into environment: inout [String: String]) throws {
        for (name, notBefore, notAfter) in issuers {
            let ca = try TestPKI.makeCA(commonName: "CA \(name)", notBefore: notBefore, notAfter: notAfter)
            let certificate = directory.appendingPathComponent("\(name).pem").path
            let key = directory.appendingPathComponent("\(name).key").path
            try SecretFiles.create(ca.certificatePEM, at: certificate, mode: 0o644)
            try SecretFiles.create(ca.keyPEM, at: key, mode: 0o600)
            environment["SCEPTER_ISSUER_\(name.uppercased())_CA_CERT_PATH"] = certificate
            environment["SCEPTER_ISSUER_\(name.uppercased())_CA_KEY_PATH"] = key
        }
    }

    @Test("Issuers: the current and a retired issuer, what each still answers for, and where its CRL and OCSP are")
    func issuers() async throws {
        var environment = ["SCEPTER_VIEWER_TOKENS": Self.viewer, "SCEPTER_ISSUERS": "spare", "SCEPTER_PUBLIC_URL": "https://pki.example.com"]
        try Self.issuerFiles([("spare", Date().addingTimeInterval(-86_400), Date().addingTimeInterval(400 * 86_400))], in: try Shell.temporaryDirectory(), into: &environment)
        let harness = try await EmbeddedHarness.make(environment: environment)
        var notAfters: [Date] = []
        var serials: [String] = []
        for index in 1...2 {
            let device = try TestDevice(commonName: "LAPTOP-\(index)", challenge: harness.server.challenge)
            let (_, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra)) }
            let certificate = try Certificate(derEncoded: try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first))
            notAfters.append(certificate.notValidAfter)
            serials.append(certificate.serialNumber.hexString)
        }
        let revoked = try await Self.call(
            harness, .post, "/api/v1/certificates/\(serials[0])/revoke", token: harness.server.adminToken, body: #"{"reason":"superseded"}"#)
        #expect(revoked.status == .ok, "\(revoked.text)")

        #expect(try await Self.call(harness, "/api/v1/issuers", token: nil).status == .unauthorized)
        #expect(try await Self.call(harness, "/api/v1/issuers?state=retired", token: Self.viewer).status == .badRequest)
        let answer = try await Self.call(harness, "/api/v1/issuers", token: Self.viewer)
        #expect(answer.status == .ok, "\(answer.text)")
        let issuers = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [[String: Any]])
        #expect(issuers.map { $0["name"] as? String } == ["dev", "spare"])
        let dev = issuers[0]
        #expect(dev["state"] as? String == "current")
        #expect(dev["profiles"] as? [String] == ["default"])
        #expect((dev["ca"] as? [String: Any])?["subject"] as? String == (try harness.caCertificate.subject.description))
        #expect(dev["crlURL"] as? String == "https://pki.example.com/crl/dev.crl")
        #expect(dev["ocspURL"] as? String == "https://pki.example.com/ocsp/dev")
        #expect(dev["revocations"] as? Int == 1)
        let held = try #require(dev["certificates"] as? [String: Any])
        #expect(held["unexpired"] as? Int == 2)
        #expect(held["active"] as? Int == 1)
        #expect(held["revoked"] as? Int == 1)
        let lastExpiry = try #require((held["lastExpiry"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
        #expect(abs(lastExpiry.timeIntervalSince(try #require(notAfters.max()))) < 1)

        let spare = issuers[1]
        #expect(spare["state"] as? String == "retired")
        #expect(spare["profiles"] as? [String] == [])
        #expect((spare["ca"] as? [String: Any])?["badge"] as? String == "green")
        #expect((spare["certificates"] as? [String: Any])?["unexpired"] as? Int == 0)
        #expect((spare["certificates"] as? [String: Any])?["lastExpiry"] == nil, "absent when nothing is left")
        #expect(spare["revocations"] as? Int == 0)
    }

    @Test("Bulk revocation: refuses an empty selector, dry run counts, then revokes once; viewers may not")
    func bulkRevocation() async throws {
        let (harness, serials) = try await Self.enrolled()
        let token = harness.server.adminToken
        let empty = try await Self.call(harness, .post, "/api/v1/certificates/revoke", token: token, body: #"{"selector":{}}"#)
        #expect(empty.status == .badRequest)
        #expect(((empty.json?["error"] as? [String: Any])?["message"] as? String)?.contains("selector is empty") == true)
        #expect(try await Self.call(harness, .post, "/api/v1/certificates/revoke", token: Self.viewer, body: #"{"selector":{"device":"LAPTOP-2"}}"#).status == .forbidden)

        let dry = try await Self.call(harness, .post, "/api/v1/certificates/revoke", token: token, body: #"{"selector":{"device":"laptop-2"},"dryRun":true}"#)
        #expect(dry.status == .ok, "\(dry.text)")
        #expect(dry.json?["matched"] as? Int == 1)
        #expect(dry.json?["revoked"] as? Int == 1)
        #expect(try await harness.server.store.certificate(serialNumber: serials[1])?.status == .active, "a dry run changes nothing")

        let done = try await Self.call(harness, .post, "/api/v1/certificates/revoke", token: token, body: #"{"selector":{"device":"laptop-2"},"reason":"affiliationChanged"}"#)
        #expect(done.json?["revoked"] as? Int == 1)
        #expect(try await harness.server.store.certificate(serialNumber: serials[1])?.status == .revoked)
        #expect(try await harness.server.store.revocation(serialNumber: serials[1])?.reason == .affiliationChanged)
        let again = try await Self.call(harness, .post, "/api/v1/certificates/revoke", token: token, body: #"{"selector":{"profile":"default"}}"#)
        #expect(again.json?["matched"] as? Int == 3)
        #expect(again.json?["revoked"] as? Int == 2)
        #expect(again.json?["skipped"] as? Int == 1)
    }

    @Test("The audit log exports as CSV and NDJSON: every matching row, streamed a page at a time")
    func export() async throws {
        let harness = try await EmbeddedHarness.make(environment: ["SCEPTER_VIEWER_TOKENS": Self.viewer])
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let rows = 10_000
        for index in 0..<rows {
            try await harness.server.store.insertAudit(
                AuditEvent(
                    id: String(format: "event-%05d", index), time: start.addingTimeInterval(Double(index)), edgeID: "edge-1", sourceAddress: "192.0.2.1",
                    profile: "default", operation: .pkiOperation, outcome: index % 10 == 0 ? .challengeInvalid : .success, latencyMilliseconds: 1,
                    details: index == 7 ? "=HYPERLINK(\"http://evil\"), \"quoted\"" : "row \(index)"))
        }
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(Self.viewer)"
        fields[.accept] = "text/csv"
        let csvHeaders = fields
        let csv = try await harness.test { client in
            try await client.execute(uri: "/api/v1/audit?profile=default&limit=5", method: .get, headers: csvHeaders) { response in
                (response.status, response.headers[.contentType], String(buffer: response.body))
            }
        }
        #expect(csv.0 == .ok)
        #expect(csv.1?.hasPrefix("text/csv") == true)
        let lines = csv.2.split(separator: "\r\n", omittingEmptySubsequences: true)
        #expect(lines.count == rows + 1, "a header and every row, not the page limit")
        #expect(lines.first?.hasPrefix("id,time,edge") == true)
        #expect(csv.2.contains(#""'=HYPERLINK(""http://evil""), ""quoted""""#), "formula neutralised and quotes doubled")

        fields[.accept] = "application/x-ndjson"
        let ndjsonHeaders = fields
        let ndjson = try await harness.test { client in
            try await client.execute(uri: "/api/v1/audit?outcome=challenge_invalid", method: .get, headers: ndjsonHeaders) { String(buffer: $0.body) }
        }
        let objects = ndjson.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == rows / 10)
        #expect(objects.allSatisfy { $0["outcome"] as? String == "challenge_invalid" })
    }

    @Test("Session names the token's holder and roles; overview totals and series; stats count enrollments per hour")
    func sessionOverviewHourly() async throws {
        let (harness, serials) = try await Self.enrolled()
        let admin = try await Self.call(harness, "/api/v1/session", token: harness.server.adminToken)
        #expect(admin.json?["name"] as? String == "dev")
        #expect(admin.json?["roles"] as? [String] == ["admin", "viewer"])
        let viewer = try await Self.call(harness, "/api/v1/session", token: Self.viewer)
        #expect(viewer.json?["name"] as? String == "auditor")
        #expect(viewer.json?["roles"] as? [String] == ["viewer"])
        #expect(try await Self.call(harness, "/api/v1/session", token: "nope").status == .unauthorized)

        _ = try await Self.call(harness, .post, "/api/v1/certificates/\(serials[0])/revoke", token: harness.server.adminToken)
        let overview = try await Self.call(harness, "/api/v1/overview", token: Self.viewer)
        #expect(overview.status == .ok, "\(overview.text)")
        #expect(overview.json?["active"] as? Int == 2)
        #expect(overview.json?["revoked"] as? Int == 1)
        #expect(overview.json?["expiringIn30Days"] as? Int == 0)
        let issued = overview.json?["issuedPerDay"] as? [[String: Any]]
        #expect(issued?.count == 30)
        #expect(issued?.last?["count"] as? Int == 3, "issued today")
        #expect((overview.json?["expiringPerDay"] as? [[String: Any]])?.count == 90)

        let stats = try await Self.call(harness, "/api/v1/admin/scep/intune/stats", token: harness.server.adminToken)
        let profile = (stats.json?["profiles"] as? [[String: Any]])?.first { $0["profile"] as? String == "default" }
        let hourly = profile?["hourly"] as? [[String: Any]]
        #expect(hourly?.count == 24)
        #expect(hourly?.last?["success"] as? Int == 3, "\(stats.text)")
        #expect(try await Self.call(harness, "/api/v1/admin/scep/intune/stats", token: Self.viewer).status == .forbidden)
    }
}
