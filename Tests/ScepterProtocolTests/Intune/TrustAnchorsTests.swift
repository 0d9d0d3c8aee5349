import ScepterTesting
import Crypto
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune trust anchors", .timeLimit(.minutes(5)))
struct TrustAnchorsTests {
    private let fixture: IntuneFixture
    private let now = IntuneFixture.now

    init() throws {
        fixture = try IntuneFixture.get()
    }

    private func loadError(_ bundle: String, now: Date = IntuneFixture.now) -> TrustAnchors.LoadError? {
        do {
            _ = try TrustAnchors(pemBundle: bundle, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test("An HA bundle loads every anchor in order with subject, fingerprint and notAfter")
    func loadsBundle() throws {
        let anchors = try fixture.anchors(fixture.rsa, fixture.rsaStandby, fixture.p256)
        #expect(
            anchors.anchors.map(\.subject) == [
                "CN=Connector A,O=Scepter tests", "CN=Connector B,O=Scepter tests", "CN=Connector EC,O=Scepter tests",
            ]
        )
        let expected = try [fixture.rsa, fixture.rsaStandby, fixture.p256].map {
            SHA256.hash(data: try $0.der).map { String(format: "%02x", $0) }.joined()
        }
        #expect(anchors.fingerprints == expected)
        #expect(anchors.anchors[0].notAfter == now.addingTimeInterval(365 * 86_400))
        #expect(anchors.anchors[0].certificate == fixture.rsa.certificate)
    }

    @Test("Exports with CRLF, 76-column lines, indentation and text between blocks load")
    func tolerantPEM() throws {
        let body = ChallengeMinter.base64url(try fixture.rsa.der, padded: true)
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        var lines: [String] = []
        var rest = Substring(body)
        while !rest.isEmpty {
            lines.append("  " + rest.prefix(76))
            rest = rest.dropFirst(76)
        }
        let bundle =
            ["Bag Attributes", "    friendlyName: connector-a", "-----BEGIN CERTIFICATE-----"]
            + lines + ["-----END CERTIFICATE-----", "", try fixture.p256.pem, ""]
        let anchors = try TrustAnchors(pemBundle: bundle.joined(separator: "\r\n"), now: now)
        #expect(anchors.anchors.count == 2)
        #expect(anchors.anchors[0].certificate == fixture.rsa.certificate)
    }

    @Test("Two exports joined with cat, the first without a final newline, load as two anchors")
    func joinedWithoutNewline() throws {
        let first = try fixture.rsa.pem.trimmingCharacters(in: .newlines)
        let anchors = try TrustAnchors(pemBundle: first + (try fixture.p256.pem), now: now)
        #expect(anchors.anchors.map(\.certificate) == [fixture.rsa.certificate, fixture.p256.certificate])
    }

    @Test("An empty bundle is refused", arguments: ["", "  \n\r\n\t"])
    func empty(bundle: String) {
        #expect(loadError(bundle)?.code == .empty)
    }

    @Test(
        "Garbage and broken PEM are refused as unparseable",
        arguments: [
            "hello, I am not a certificate",
            "-----BEGIN CERTIFICATE-----\nMIIB\n",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END PRIVATE KEY-----\n",
            "-----END CERTIFICATE-----\n",
        ]
    )
    func garbage(bundle: String) {
        #expect(loadError(bundle)?.code == .unparseable)
    }

    @Test("A private key in the bundle is refused, and the error says which block")
    func privateKeyBlock() throws {
        let key = P256.Signing.PrivateKey().pemRepresentation
        let error = loadError(try fixture.rsa.pem + "\n" + key)
        #expect(error?.code == .unparseable)
        #expect(error?.position == 2)
        #expect(error?.description.contains("PRIVATE KEY, not a CERTIFICATE") == true)
    }

    @Test("An expired certificate anywhere in the bundle is refused by subject")
    func expired() throws {
        let old = try TestConnector(
            .rsa,
            commonName: "Old Connector",
            notBefore: now.addingTimeInterval(-400 * 86_400),
            notAfter: now.addingTimeInterval(-1)
        )
        let error = loadError(try fixture.rsa.pem + "\n" + old.pem)
        #expect(error?.code == .expired)
        #expect(error?.position == 2)
        #expect(error?.subject == "CN=Old Connector,O=Scepter tests")
        #expect(
            error?.description == "certificate 2 (CN=Old Connector,O=Scepter tests): expired at 2025-06-15T15:06:39Z"
        )
    }

    @Test("A certificate that is not yet valid is refused by subject")
    func notYetValid() throws {
        let early = try TestConnector(
            .p256,
            commonName: "Future Connector",
            notBefore: now.addingTimeInterval(1),
            notAfter: now.addingTimeInterval(400 * 86_400)
        )
        let error = loadError(try early.pem)
        #expect(error?.code == .notYetValid)
        #expect(error?.subject == "CN=Future Connector,O=Scepter tests")
        #expect(error?.description.contains("not valid before 2025-06-15T15:06:41Z") == true)
    }

    @Test("A certificate valid exactly at its notBefore and notAfter loads")
    func validityEdges() throws {
        let connector = try TestConnector(
            .rsa,
            commonName: "Edge",
            notBefore: now,
            notAfter: now.addingTimeInterval(86_400)
        )
        #expect(throws: Never.self) { try TrustAnchors(pemBundle: try connector.pem, now: now) }
        #expect(throws: Never.self) {
            try TrustAnchors(pemBundle: try connector.pem, now: now.addingTimeInterval(86_400))
        }
    }

    @Test("A key that no accepted alg can use is refused")
    func unsupportedKey() throws {
        let p384 = try TestConnector(
            .p384,
            commonName: "P-384 Connector",
            notBefore: now.addingTimeInterval(-86_400),
            notAfter: now.addingTimeInterval(86_400)
        )
        let error = loadError(try p384.pem)
        #expect(error?.code == .unsupportedKey)
        #expect(error?.subject == "CN=P-384 Connector,O=Scepter tests")
    }

    @Test(
        "Days left and badge bands",
        arguments: [
            (400 * 86_400.0, 400, .green),
            (30 * 86_400.0, 30, .green),
            (30 * 86_400.0 - 1, 29, .amber),
            (7 * 86_400.0, 7, .amber),
            (7 * 86_400.0 - 1, 6, .red),
            (1, 0, .red),
            (0, 0, .red),
            (-1, -1, .expired),
            (-86_400 * 3.0, -3, .expired),
        ] as [(TimeInterval, Int, TrustAnchors.Anchor.Badge)]
    )
    func badges(remaining: TimeInterval, days: Int, badge: TrustAnchors.Anchor.Badge) throws {
        let anchor = try #require(try fixture.anchors(fixture.rsa).anchors.first)
        let at = anchor.notAfter.addingTimeInterval(-remaining)
        #expect(anchor.daysLeft(now: at) == days)
        #expect(anchor.badge(now: at) == badge)
    }
}

@Suite("Trust anchors expiring while loaded", .timeLimit(.minutes(5)))
struct TrustAnchorsExpiryTests {
    @Test func anAnchorThatExpiresWhileLoadedStopsVerifying() throws {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let connector = try TestConnector(.p256, commonName: "Short-lived", notBefore: now.addingTimeInterval(-60), notAfter: now.addingTimeInterval(3600))
        let anchors = try TrustAnchors(pemBundle: try connector.pem, now: now)
        let validator = IntuneValidator(anchors: anchors, policy: .init())
        let later = now.addingTimeInterval(7200)
        let claims: [String: Any] = [
            "iss": "i", "sub": "s", "iat": later.timeIntervalSince1970 - 60, "exp": later.timeIntervalSince1970 + 600,
        ]
        let challenge = try ChallengeMinter(connector).mint(claims: claims)
        guard case .failure(let refusal) = validator.validate(challenge, csr: .init(commonName: nil), now: later) else {
            Issue.record("an expired anchor verified a challenge")
            return
        }
        #expect(refusal.outcome == .signatureInvalid)
        #expect(refusal.reason.contains("outside its validity"))
        #expect(anchors.valid(at: now).anchors.count == 1)
        #expect(anchors.valid(at: later).anchors.isEmpty)
    }
}
