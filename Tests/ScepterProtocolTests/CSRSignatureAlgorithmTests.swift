import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// CSR self-signatures in every algorithm the CMS layer accepts, made by
/// `openssl req`: the ones swift-certificates parses (verified by
/// swift-crypto) and the ones it does not (RSASSA-PSS, SHA-224), read through
/// a stand-in and verified by OpenSSL with the parameters they state.
@Suite("PKCS#10 self-signatures in every accepted algorithm", .timeLimit(.minutes(5)))
struct CSRSignatureAlgorithmTests {
    enum Key: String, Sendable, CaseIterable {
        case rsa2048 = "rsa:2048"
        case p256 = "ec:P-256"
        case p384 = "ec:P-384"
    }

    /// A CSR for CN=`name` with a challengePassword, signed by a new `key` with `digest` and `sigopts`.
    static func request(_ key: Key, digest: String, sigopts: [String] = [], name: String = "algo-device") async throws -> [UInt8] {
        let directory = try Shell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("req.cnf")
        try """
        [req]
        prompt = no
        distinguished_name = dn
        attributes = attributes
        [dn]
        CN = \(name)
        [attributes]
        challengePassword = algo-challenge
        """.write(to: config, atomically: true, encoding: .utf8)
        var arguments = ["req", "-new", "-config", config.path, "-nodes", "-outform", "DER", "-out", directory.appendingPathComponent("csr.der").path,
            "-keyout", directory.appendingPathComponent("key.pem").path, "-\(digest)"]
        switch key {
        case .rsa2048: arguments += ["-newkey", "rsa:2048"]
        case .p256: arguments += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        case .p384: arguments += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"]
        }
        arguments += sigopts.flatMap { ["-sigopt", $0] }
        let made = try await Shell.run("/usr/bin/openssl", arguments)
        try #require(made.status == 0, "\(made.stderr)")
        return Array(try Data(contentsOf: directory.appendingPathComponent("csr.der")))
    }

    static let pss = ["rsa_padding_mode:pss"]

    static let accepted: [(Key, String, [String])] =
        ["sha1", "sha224", "sha256", "sha384", "sha512"].map { (.rsa2048, $0, []) }
        + [("sha1", "20"), ("sha256", "32"), ("sha384", "48"), ("sha512", "64"), ("sha256", "0"), ("sha512", "max")].map {
            (.rsa2048, $0.0, pss + ["rsa_pss_saltlen:\($0.1)"])
        }
        + [(.p256, "sha256", []), (.p256, "sha384", []), (.p256, "sha512", []), (.p384, "sha384", []), (.p384, "sha512", []), (.p256, "sha224", [])]

    @Test("Read and verified", arguments: accepted)
    func acceptedAlgorithm(key: Key, digest: String, sigopts: [String]) async throws {
        let csr = try CertificationRequest(derEncoded: try await Self.request(key, digest: digest, sigopts: sigopts))
        #expect(csr.commonName == "algo-device")
        #expect(csr.challengePassword == "algo-challenge")
        switch key {
        case .rsa2048: #expect(csr.key == .rsa(bits: 2048))
        case .p256: #expect(csr.key == .ecdsa(curve: "P-256"))
        case .p384: #expect(csr.key == .ecdsa(curve: "P-384"))
        }
    }

    /// The subject's last byte changed: the signature no longer covers it.
    static func tampered(_ der: [UInt8]) throws -> [UInt8] {
        var bytes = der
        let name = Array("algo-device".utf8)
        let at = try #require((0...(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
        bytes[at + name.count - 1] ^= 0x01
        return bytes
    }

    @Test(
        "A tampered request fails its self-signature, whatever the algorithm",
        arguments: [(Key.rsa2048, "sha256", pss + ["rsa_pss_saltlen:32"]), (.rsa2048, "sha224", []), (.p256, "sha224", [])])
    func tamperedFails(key: Key, digest: String, sigopts: [String]) async throws {
        let bytes = try Self.tampered(try await Self.request(key, digest: digest, sigopts: sigopts))
        #expect(throws: Refusal.self) { try CertificationRequest(derEncoded: bytes) }
        do {
            _ = try CertificationRequest(derEncoded: bytes)
        } catch {
            #expect(error.outcome == .badMessageCheck, "\(error.reason)")
        }
    }

    @Test("PSS parameters are honoured: a salt length other than the one signed with does not verify")
    func pssSaltLengthIsHonoured() async throws {
        var bytes = try await Self.request(.rsa2048, digest: "sha256", sigopts: Self.pss + ["rsa_pss_saltlen:32"])
        // RSASSA-PSS-params' saltLength [2] INTEGER 32: a2 03 02 01 20 -> 20 (the default of SHA-1 PSS).
        let stated: [UInt8] = [0xa2, 0x03, 0x02, 0x01, 0x20]
        let at = try #require((0...(bytes.count - stated.count)).first { Array(bytes[$0..<($0 + stated.count)]) == stated })
        bytes[at + 4] = 0x14
        do {
            _ = try CertificationRequest(derEncoded: bytes)
            Issue.record("a PSS signature verified with a salt length it was not made with")
        } catch {
            #expect(error.outcome == .badMessageCheck, "\(error.reason)")
        }
    }

    @Test("A request already verified by an edge is read without verifying again, stand-in or not")
    func preVerifiedRequestsAreRead() async throws {
        for (key, digest, sigopts) in [(Key.rsa2048, "sha256", Self.pss + ["rsa_pss_saltlen:32"]), (.rsa2048, "sha224", [])] {
            let der = try await Self.request(key, digest: digest, sigopts: sigopts)
            let csr = try CertificationRequest(derEncoded: der, selfSignatureVerified: true)
            #expect(csr.derEncoded == der, "the bytes as sent are kept, never the stand-in copy")
            #expect(csr.commonName == "algo-device")
        }
    }
}
