import COpenSSL

/// A private key that signs through OpenSSL: RSA PKCS#1 v1.5 (RSA's own API)
/// or ECDSA (EVP, DER-encoded signature), over SHA-256, SHA-384 or SHA-512.
///
/// The CA signs certificates with it when OpenSSL is the faster library for
/// its key on this machine (see `SignatureLibrary`).
package final class OpenSSLSigningKey: Sendable {
    // The key is never mutated after init; each signature has its own context.
    private let key: OpenSSLKey

    package enum Digest: Sendable {
        case sha256, sha384, sha512
    }

    /// Reads a PEM private key (PKCS#1, SEC1 or PKCS#8, unencrypted).
    package init(privateKeyPEM pem: String) throws {
        key = try OpenSSLKey(privateKeyPEM: pem)
    }

    package func sign(_ bytes: some Collection<UInt8>, digest: Digest) throws -> [UInt8] {
        OpenSSL.initialize()
        if key.rsa != nil {
            // RSA's own API: no provider fetch per signature (see `CMSPrimitives`).
            let algorithm: DigestAlgorithm =
                switch digest {
                case .sha256: .sha256
                case .sha384: .sha384
                case .sha512: .sha512
                }
            return try CMSPrimitives.sign(Array(bytes), digest: algorithm, key: key)
        }
        guard let context = EVP_MD_CTX_new() else { throw OpenSSL.Failure("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        let md: OpaquePointer? =
            switch digest {
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        guard EVP_DigestSignInit(context, nil, md, nil, key.pointer) == 1 else {
            throw OpenSSL.Failure("starting a CA signature")
        }
        let data = Array(bytes)
        var length = 0
        guard EVP_DigestSign(context, nil, &length, data, data.count) == 1 else {
            throw OpenSSL.Failure("sizing a CA signature")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, data, data.count) == 1 else {
            throw OpenSSL.Failure("making a CA signature")
        }
        return Array(signature[0..<length])
    }
}
