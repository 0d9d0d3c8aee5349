import Foundation
import CoreFoundation
import Glibc
import Synchronization
import SwiftASN1
import X509
import ScepterProtocol

/// Which library makes a CA's signatures. The CA key is loaded by both; at
/// start the CA times a few signatures with each and signs with the faster.
/// Measured on the machines here: OpenSSL 3 signs RSA-2048 in about half
/// the time of swift-crypto's BoringSSL, RSA-3072 at about the same speed,
/// and BoringSSL is the faster for P-256.
package enum SignatureLibrary: String, Sendable {
    case openSSL = "OpenSSL 3"
    case boringSSL = "swift-crypto (BoringSSL)"
}

/// The CA's private key with its signatures made through OpenSSL; the key
/// is otherwise the swift-certificates key it was loaded as.
struct OpenSSLCAKey: CustomPrivateKey {
    let loaded: Certificate.PrivateKey
    let signer: OpenSSLSigningKey
    let defaultSignatureAlgorithm: Certificate.SignatureAlgorithm

    var publicKey: Certificate.PublicKey { loaded.publicKey }
    var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { loaded.supportedSignatureAlgorithms }

    func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws
        -> Certificate.Signature
    {
        let digest: OpenSSLSigningKey.Digest
        switch signatureAlgorithm {
        case .sha256WithRSAEncryption, .ecdsaWithSHA256: digest = .sha256
        case .sha384WithRSAEncryption, .ecdsaWithSHA384: digest = .sha384
        case .sha512WithRSAEncryption, .ecdsaWithSHA512: digest = .sha512
        default: return try loaded.sign(bytes: bytes, signatureAlgorithm: signatureAlgorithm)
        }
        let signature = try signer.sign(Array(bytes), digest: digest)
        return try Certificate.Signature(signatureAlgorithm: signatureAlgorithm, signatureBytes: ASN1BitString(bytes: signature[...]))
    }

    static var defaultPEMDiscriminator: String { "PRIVATE KEY" }
    func serializeAsPEM(discriminator: String) throws -> PEMDocument { try loaded.serializeAsPEM() }
    func serialize(into coder: inout DER.Serializer) throws { throw CertificateError.unsupportedPrivateKey(reason: "not serialized") }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.loaded == rhs.loaded }
    func hash(into hasher: inout Hasher) { hasher.combine(loaded) }
}

extension SignatureLibrary {
    /// Signs the same 1000 bytes with both keys and returns the faster,
    /// by CPU time of the calling thread (best of three rounds of eight).
    /// Falls back to swift-crypto if OpenSSL cannot sign with the key.
    /// Timed once per key type and size in a process (tests load many CAs).
    static func faster(
        _ boringSSL: Certificate.PrivateKey, _ openSSL: Certificate.PrivateKey, algorithm: Certificate.SignatureAlgorithm
    ) -> SignatureLibrary {
        let kind = "\(algorithm) \(boringSSL.publicKey.subjectPublicKeyInfoBytes.count)"
        if let known = measured.withLock({ $0[kind] }) { return known }
        let chosen = race(boringSSL, openSSL, algorithm: algorithm)
        measured.withLock { $0[kind] = chosen }
        return chosen
    }

    private static let measured = Mutex<[String: SignatureLibrary]>([:])

    private static func race(
        _ boringSSL: Certificate.PrivateKey, _ openSSL: Certificate.PrivateKey, algorithm: Certificate.SignatureAlgorithm
    ) -> SignatureLibrary {
        let sample = [UInt8](repeating: 0x5A, count: 1000)
        func best(_ key: Certificate.PrivateKey) -> UInt64? {
            var fastest = UInt64.max
            for round in 0..<4 {
                let start = threadCPUNanoseconds()
                for _ in 0..<8 {
                    guard (try? key.sign(bytes: sample, signatureAlgorithm: algorithm)) != nil else { return nil }
                }
                // The first round warms caches and lazy initialisation.
                if round > 0 { fastest = min(fastest, threadCPUNanoseconds() - start) }
            }
            return fastest
        }
        guard let viaOpenSSL = best(openSSL), let viaBoringSSL = best(boringSSL) else { return .boringSSL }
        return viaOpenSSL < viaBoringSSL ? .openSSL : .boringSSL
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
