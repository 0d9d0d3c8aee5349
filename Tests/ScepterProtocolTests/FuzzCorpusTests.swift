import Foundation
import Testing
import ScepterProtocol

/// The committed fuzz seeds (Fuzz/corpus) still reach what they were made
/// for: a seed that no longer decrypts or verifies would leave its fuzz
/// target stuck at the front door. Regenerate them with Fuzz/make-corpus.sh.
@Suite("Fuzz seed corpora", .timeLimit(.minutes(5)))
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static func seeds(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let directory = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { (name: $0, bytes: Array(try Data(contentsOf: directory.appendingPathComponent($0)))) }
    }

    static func ra() throws -> RAIdentity {
        RAIdentity(try CertificateKeyPair(certificatePEM: try Fixture.text("ra-cert.pem"), keyPEM: try Fixture.text("ra-key.pem")))
    }

    static let types: [(prefix: String, type: MessageType)] = [
        ("pkcsreq", .pkcsReq), ("renewalreq", .renewalReq), ("certpoll", .certPoll), ("getcert", .getCert), ("getcrl", .getCRL),
    ]

    @Test func pkiMessageSeedsDecodeWithTheFixturesRA() throws {
        let ra = try Self.ra()
        let seeds = try Self.seeds("pkimessage").filter { !$0.name.hasPrefix("fixture-") }
        #expect(seeds.count >= 10)
        for seed in seeds {
            let expected = try #require(Self.types.first { seed.name.hasPrefix($0.prefix) }?.type, "\(seed.name) names no message type")
            guard case .message(let message) = try PKIMessage.decode(seed.bytes, ra: ra) else {
                Issue.record("seed \(seed.name) is refused")
                continue
            }
            #expect(message.header.messageType == expected, "\(seed.name)")
        }
    }

    @Test func envelopeSeedsDecryptWithTheFixturesRA() throws {
        let ra = try Self.ra()
        let seeds = try Self.seeds("envelope").filter { $0.name != "fixture-env-other.der" }
        #expect(seeds.count >= 10)
        for seed in seeds {
            // As the harness reads it: the first byte picks PKCSReq, RenewalReq, CertPoll, GetCert or GetCRL.
            let type = [MessageType.pkcsReq, .renewalReq, .certPoll, .getCert, .getCRL][Int(seed.bytes[0]) % 5]
            let header = PKIMessage.Header(messageType: type, transactionID: "seed", senderNonce: [1], digest: .sha256)
            let decoded = PKIMessage.open(Array(seed.bytes.dropFirst()), header: header, signerCertificate: [], ra: ra)
            guard case .message = decoded else {
                Issue.record("envelope seed \(seed.name) does not open: \(decoded)")
                continue
            }
        }
    }

    @Test func csrSeedsOfEveryAlgorithmAreRead() throws {
        for seed in try Self.seeds("csr") {
            switch seed.name {
            case "fixture-csr-tampered.der":
                #expect(throws: Refusal.self, "\(seed.name)") { try CertificationRequest(derEncoded: seed.bytes) }
            case "openssl-rsa1024-sha256.der":
                let refusal = #expect(throws: Refusal.self) { try CertificationRequest(derEncoded: seed.bytes) }
                #expect(refusal?.outcome == .policyViolation)
            default:
                #expect(throws: Never.self, "\(seed.name)") { try CertificationRequest(derEncoded: seed.bytes) }
            }
        }
    }

    @Test func ocspSeedsAskTheFixturesCA() throws {
        let ca = try OCSP.Issuer(certificateDER: try #require(PEM.firstBlock(in: try Fixture.text("ca-cert.pem"), label: "CERTIFICATE")))
        let seeds = try Self.seeds("ocsp")
        #expect(seeds.count >= 4)
        for seed in seeds {
            // get-*.txt: the path tail of an RFC 5019 GET.
            let der = seed.name.hasPrefix("get-") ? try #require(OCSP.requestDER(getPath: String(decoding: seed.bytes, as: UTF8.self)), "\(seed.name)") : seed.bytes
            let request = try OCSP.Request(der: der)
            #expect(!request.questions.isEmpty)
            #expect(request.isFor(ca) == (seed.name != "other-issuer.der"), "\(seed.name)")
        }
        #expect(seeds.filter { $0.name.hasPrefix("get-") }.count >= 3)
    }
}
