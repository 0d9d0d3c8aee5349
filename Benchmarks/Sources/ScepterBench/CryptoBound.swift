import CBenchOpenSSL
import CBenchSupport
import Crypto
import Foundation
import _CryptoExtras

/// The RSA operations one enrollment needs on the server, each timed on one
/// core with the library and key the server uses.
struct CryptoOperation: Sendable {
    var name: String
    var library: String
    var isPrivate: Bool
    /// How many an enrollment needs.
    var perEnrollment: Int
    /// Thread CPU time per operation, in milliseconds.
    var cpuMilliseconds: Double
    /// Wall time per operation (higher than CPU when the core was shared).
    var wallMilliseconds: Double
    var iterations: Int
}

struct CryptoBound: Sendable {
    /// Counted in the bound.
    var operations: [CryptoOperation]
    /// Timed for comparison only (e.g. the same signature through another library).
    var references: [CryptoOperation]

    var millisecondsPerEnrollment: Double {
        operations.reduce(0) { $0 + $1.cpuMilliseconds * Double($1.perEnrollment) }
    }

    var privateMilliseconds: Double {
        operations.filter(\.isPrivate).reduce(0) { $0 + $1.cpuMilliseconds * Double($1.perEnrollment) }
    }

    /// Enrollments per second one core could do if it did nothing but these operations.
    var enrollmentsPerSecondPerCore: Double { 1000 / millisecondsPerEnrollment }

    /// Times each operation for about `seconds` of CPU on the calling thread.
    /// `raKeyPEM` and `caKeyPEM` are the server's own keys (its data dir);
    /// `device` supplies the requester's RSA-2048 public key.
    static func measure(raKeyPEM: String, caKeyPEM: String, device: Device, seconds: Double) throws -> CryptoBound {
        let raKey = try PKey(privateKeyPEM: raKeyPEM)
        let caKeyOpenSSL = try PKey(privateKeyPEM: caKeyPEM)
        let caSigner = try CASigner(pem: caKeyPEM)
        guard let devicePublic = device.signer.publicKey else { throw BenchError("device certificate has no key") }

        // Inputs shaped like the real ones: a 16-byte AES-128 key wrapped to
        // the RA, ~250 bytes of signed attributes, a ~1 KB TBSCertificate.
        let contentKey = [UInt8]((0..<16).map { UInt8($0) })
        let signedAttributes = [UInt8](repeating: 0x31, count: 250)
        let tbsCertificate = [UInt8](repeating: 0x30, count: 1000)
        let wrappedKey = try OpenSSLRSA.encrypt(contentKey, to: raKey)
        let deviceSignature = try OpenSSLRSA.sign(signedAttributes, with: device.key)

        func time(_ name: String, _ library: String, isPrivate: Bool, count: Int, _ operation: () throws -> Void) throws -> CryptoOperation {
            for _ in 0..<3 { try operation() }  // warm caches, lazy provider loading
            let cpuStart = Clock.threadCPUNanoseconds()
            let wallStart = Clock.monotonicNanoseconds()
            var iterations = 0
            let budget = Int64(seconds * 1e9)
            repeat {
                for _ in 0..<4 { try operation() }
                iterations += 4
            } while Clock.threadCPUNanoseconds() - cpuStart < budget
            let cpu = Double(Clock.threadCPUNanoseconds() - cpuStart) / 1e6 / Double(iterations)
            let wall = Double(Clock.monotonicNanoseconds() - wallStart) / 1e6 / Double(iterations)
            return CryptoOperation(
                name: name, library: library, isPrivate: isPrivate, perEnrollment: count, cpuMilliseconds: cpu,
                wallMilliseconds: wall, iterations: iterations)
        }

        let caKeyBits = caKeyOpenSSL.bits
        // The server signs certificates with whichever library is faster for
        // its CA key (LocalCA times both at start); so does the bound.
        let caName = "CA signs the certificate (\(caSigner.name(bits: caKeyBits)) private, SHA-256)"
        let viaBoringSSL = try time(caName, "swift-crypto (BoringSSL)", isPrivate: true, count: 1) { try caSigner.sign(tbsCertificate) }
        let viaOpenSSL = try time(caName, "OpenSSL 3", isPrivate: true, count: 1) { _ = try RSAOwnAPI.sign(tbsCertificate, with: caKeyOpenSSL) }
        let (faster, slowerCA) = viaOpenSSL.cpuMilliseconds < viaBoringSSL.cpuMilliseconds ? (viaOpenSSL, viaBoringSSL) : (viaBoringSSL, viaOpenSSL)
        // The RA's and the device's RSA operations through RSA's own API, as the server does them.
        let operations = [
            try time("RA decrypts the envelope key (RSA-\(raKey.bits) private, PKCS#1 v1.5)", "OpenSSL 3", isPrivate: true, count: 1) {
                let key = try RSAOwnAPI.decrypt(wrappedKey, with: raKey)
                guard key.count == 16 else { throw BenchError("RSA decrypt returned \(key.count) bytes") }
            },
            try time("RA signs the CertRep (RSA-\(raKey.bits) private, SHA-256)", "OpenSSL 3", isPrivate: true, count: 1) {
                _ = try RSAOwnAPI.sign(signedAttributes, with: raKey)
            },
            faster,
            try time("verify request and CSR signatures (RSA-\(devicePublic.bits) public)", "OpenSSL 3", isPrivate: false, count: 2) {
                guard try RSAOwnAPI.verify(deviceSignature, over: signedAttributes, with: devicePublic) else {
                    throw BenchError("RSA verify failed")
                }
            },
            try time("encrypt the reply key to the device (RSA-\(devicePublic.bits) public)", "OpenSSL 3", isPrivate: false, count: 1) {
                _ = try RSAOwnAPI.encrypt(contentKey, to: devicePublic)
            },
        ]
        let deviceCertificate = device.signer.der
        var slower = slowerCA
        slower.name = "CA signature through the slower library (the server times both at start and signs with the faster)"
        slower.perEnrollment = 0
        let references = [
            slower,
            // The same signature through EVP_PKEY_CTX, which fetches the algorithm from its provider each time.
            try time("RA signs the CertRep through EVP (the way before RSA's own API)", "OpenSSL 3", isPrivate: true, count: 0) {
                _ = try OpenSSLRSA.sign(signedAttributes, with: raKey)
            },
            // Not RSA, but paid per parse: OpenSSL 3.0 decodes the public key
            // of every certificate or CSR it parses through its provider decoders.
            try time("parse an RSA-2048 certificate (d2i_X509, not crypto)", "OpenSSL 3", isPrivate: false, count: 0) {
                guard let parsed = OpenSSLLib.decode(deviceCertificate, { d2i_X509(nil, $0, $1) }) else {
                    throw OpenSSLError("d2i_X509")
                }
                X509_free(parsed)
            },
        ]
        return CryptoBound(operations: operations, references: references)
    }
}

/// The CA's key as the server signs certificates with it (swift-certificates
/// over swift-crypto): RSA of any size, or ECDSA P-256.
enum CASigner {
    case rsa(_RSA.Signing.PrivateKey)
    case p256(P256.Signing.PrivateKey)

    init(pem: String) throws {
        if let rsa = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
            self = .rsa(rsa)
        } else if let p256 = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            self = .p256(p256)
        } else {
            throw BenchError("the CA key is neither RSA nor ECDSA P-256")
        }
    }

    func name(bits: Int) -> String {
        switch self {
        case .rsa: "RSA-\(bits)"
        case .p256: "ECDSA P-256"
        }
    }

    func sign(_ data: [UInt8]) throws {
        switch self {
        case .rsa(let key): _ = try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
        case .p256(let key): _ = try key.signature(for: SHA256.hash(data: data))
        }
    }
}

/// RSA through RSA's own API (`RSA_sign` and kin), as the server's CMS and CA
/// code do it: no provider fetch per operation. Non-RSA keys sign through EVP.
enum RSAOwnAPI {
    private static func rsa(_ key: PKey) throws -> OpaquePointer {
        guard let rsa = bench_EVP_PKEY_get0_RSA(key.pointer) else { throw OpenSSLError("not an RSA key") }
        return rsa
    }

    static func encrypt(_ plaintext: [UInt8], to key: PKey) throws -> [UInt8] {
        let rsa = try rsa(key)
        var output = [UInt8](repeating: 0, count: Int(bench_RSA_size(rsa)))
        let length = bench_RSA_public_encrypt_pkcs1(Int32(plaintext.count), plaintext, &output, rsa)
        guard length > 0 else { throw OpenSSLError("RSA_public_encrypt") }
        return Array(output[0..<Int(length)])
    }

    static func decrypt(_ ciphertext: [UInt8], with key: PKey) throws -> [UInt8] {
        let rsa = try rsa(key)
        var output = [UInt8](repeating: 0, count: Int(bench_RSA_size(rsa)))
        let length = bench_RSA_private_decrypt_pkcs1(Int32(ciphertext.count), ciphertext, &output, rsa)
        guard length > 0 else { throw OpenSSLError("RSA_private_decrypt") }
        return Array(output[0..<Int(length)])
    }

    static func sign(_ data: [UInt8], with key: PKey) throws -> [UInt8] {
        guard bench_EVP_PKEY_get0_RSA(key.pointer) != nil else { return try OpenSSLRSA.sign(data, with: key) }
        let rsa = try rsa(key)
        let digest = Array(SHA256.hash(data: data))
        var output = [UInt8](repeating: 0, count: Int(bench_RSA_size(rsa)))
        var length: UInt32 = 0
        guard bench_RSA_sign(NID_sha256, digest, UInt32(digest.count), &output, &length, rsa) == 1 else { throw OpenSSLError("RSA_sign") }
        return Array(output[0..<Int(length)])
    }

    static func verify(_ signature: [UInt8], over data: [UInt8], with key: PKey) throws -> Bool {
        let digest = Array(SHA256.hash(data: data))
        return bench_RSA_verify(NID_sha256, digest, UInt32(digest.count), signature, UInt32(signature.count), try rsa(key)) == 1
    }
}

/// RSA through OpenSSL's EVP API, one context per operation: the harness's
/// client side, and a reference row.
enum OpenSSLRSA {
    static func encrypt(_ plaintext: [UInt8], to key: PKey) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key.pointer, nil) else { throw OpenSSLError("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_encrypt_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 else {
            throw OpenSSLError("EVP_PKEY_encrypt_init")
        }
        var length = 0
        guard EVP_PKEY_encrypt(context, nil, &length, plaintext, plaintext.count) == 1 else { throw OpenSSLError("EVP_PKEY_encrypt") }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_encrypt(context, &output, &length, plaintext, plaintext.count) == 1 else { throw OpenSSLError("EVP_PKEY_encrypt") }
        return Array(output[0..<length])
    }

    static func decrypt(_ ciphertext: [UInt8], with key: PKey) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key.pointer, nil) else { throw OpenSSLError("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_decrypt_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 else {
            throw OpenSSLError("EVP_PKEY_decrypt_init")
        }
        var length = 0
        guard EVP_PKEY_decrypt(context, nil, &length, ciphertext, ciphertext.count) == 1 else { throw OpenSSLError("EVP_PKEY_decrypt") }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_decrypt(context, &output, &length, ciphertext, ciphertext.count) == 1 else { throw OpenSSLError("EVP_PKEY_decrypt") }
        return Array(output[0..<length])
    }

    static func sign(_ data: [UInt8], with key: PKey) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { throw OpenSSLError("EVP_DigestSignInit") }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, data, data.count) == 1 else { throw OpenSSLError("EVP_DigestSign") }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &output, &length, data, data.count) == 1 else { throw OpenSSLError("EVP_DigestSign") }
        return Array(output[0..<length])
    }

    static func verify(_ signature: [UInt8], over data: [UInt8], with key: PKey) throws -> Bool {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key.pointer) == 1 else { throw OpenSSLError("EVP_DigestVerifyInit") }
        return EVP_DigestVerify(context, signature, signature.count, data, data.count) == 1
    }
}
