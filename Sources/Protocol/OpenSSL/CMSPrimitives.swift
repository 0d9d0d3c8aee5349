import COpenSSL

/// The operations a CMS message is made of (a digest, an RSA signature, RSA
/// key transport, a CBC cipher), each one OpenSSL call on Swift values, with
/// every algorithm fetched from its provider once. `CMSReader` and
/// `CMSWriter` do the ASN.1 around them in Swift.
enum CMSPrimitives {
    /// An RSA public key from its RSAPublicKey (PKCS #1) DER, read the legacy
    /// way (`d2i_PublicKey`, no provider decoder); nil when it does not parse.
    static func rsaPublicKey(_ der: ArraySlice<UInt8>) -> OpenSSLKey? {
        OpenSSL.initialize()
        let key = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PublicKey(EVP_PKEY_RSA, nil, &cursor, buffer.count)
        }
        guard let key else {
            _ = OpenSSL.drainErrors()
            return nil
        }
        return OpenSSLKey(takingOwnershipOf: key)
    }

    static func digest(_ bytes: ArraySlice<UInt8>, _ algorithm: DigestAlgorithm) -> [UInt8]? {
        guard let md = Fetched.shared.digest(algorithm) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let done = bytes.withUnsafeBufferPointer { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, md, nil)
        }
        guard done == 1 else {
            _ = OpenSSL.drainErrors()
            return nil
        }
        return Array(out[0..<Int(length)])
    }

    /// Whether `signature` is `key`'s RSA PKCS #1 v1.5 signature over `message`, hashed with `digest`.
    static func verify(_ signature: ArraySlice<UInt8>, over message: ArraySlice<UInt8>, digest: DigestAlgorithm, key: OpenSSLKey) -> Bool {
        guard let hash = Self.digest(message, digest), let md = Fetched.shared.digest(digest),
            let context = EVP_PKEY_CTX_new(key.pointer, nil)
        else { return false }
        defer { EVP_PKEY_CTX_free(context) }
        let verified = signature.withUnsafeBufferPointer { signatureBytes in
            EVP_PKEY_verify_init(context) == 1 && EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
                && EVP_PKEY_CTX_set_signature_md(context, md) == 1
                && EVP_PKEY_verify(context, signatureBytes.baseAddress, signatureBytes.count, hash, hash.count) == 1
        }
        if !verified { _ = OpenSSL.drainErrors() }
        return verified
    }

    /// `key`'s RSA PKCS #1 v1.5 signature over `message`, hashed with `digest`.
    static func sign(_ message: [UInt8], digest: DigestAlgorithm, key: OpenSSLKey) throws -> [UInt8] {
        guard let hash = Self.digest(message[...], digest), let md = Fetched.shared.digest(digest) else {
            throw OpenSSL.Failure("hashing the signed attributes with \(digest.rawValue)")
        }
        guard let context = EVP_PKEY_CTX_new(key.pointer, nil) else { throw OpenSSL.Failure("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key.pointer)))
        var length = signature.count
        guard EVP_PKEY_sign_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
            EVP_PKEY_CTX_set_signature_md(context, md) == 1,
            EVP_PKEY_sign(context, &signature, &length, hash, hash.count) == 1
        else { throw OpenSSL.Failure("signing with the RA key") }
        return Array(signature[0..<length])
    }

    /// The content-encryption key `encrypted` holds, RSA PKCS #1 v1.5 to
    /// `key`, of `length` bytes. A key that does not decrypt, or decrypts to
    /// another length, is replaced by random bytes, as OpenSSL's own CMS
    /// does: the content then fails to decrypt like any other bad message,
    /// and no answer tells a padding error from a content error
    /// (Bleichenbacher's attack needs that difference).
    static func unwrapKey(_ encrypted: ArraySlice<UInt8>, key: OpenSSLKey, length: Int) -> [UInt8] {
        let substitute = SystemRandom.bytes(length)
        guard let context = EVP_PKEY_CTX_new(key.pointer, nil) else {
            _ = OpenSSL.drainErrors()
            return substitute
        }
        defer { EVP_PKEY_CTX_free(context) }
        var plain = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key.pointer)))
        var plainLength = plain.count
        let decrypted = encrypted.withUnsafeBufferPointer { input in
            EVP_PKEY_decrypt_init(context) == 1 && EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
                && EVP_PKEY_decrypt(context, &plain, &plainLength, input.baseAddress, input.count) == 1
        }
        ERR_clear_error()
        guard decrypted, plainLength == length else { return substitute }
        return Array(plain[0..<length])
    }

    /// `contentKey` encrypted to `recipient` with RSA PKCS #1 v1.5.
    static func wrapKey(_ contentKey: [UInt8], to recipient: OpenSSLKey) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(recipient.pointer, nil) else { throw OpenSSL.Failure("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(recipient.pointer)))
        var length = out.count
        guard EVP_PKEY_encrypt_init(context) == 1, EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
            EVP_PKEY_encrypt(context, &out, &length, contentKey, contentKey.count) == 1
        else { throw OpenSSL.Failure("encrypting the content key to the requester") }
        return Array(out[0..<length])
    }

    enum Direction { case encrypt, decrypt }

    /// Whether `cipher` is available (single DES needs the legacy provider).
    static func canCrypt(_ cipher: ContentCipher) -> Bool { Fetched.shared.cipher(cipher) != nil }

    /// `input` through `cipher` in CBC mode with PKCS #7 padding.
    static func crypt(
        _ input: ArraySlice<UInt8>, _ direction: Direction, cipher: ContentCipher, key: [UInt8], iv: ArraySlice<UInt8>
    ) throws -> [UInt8] {
        guard let evpCipher = Fetched.shared.cipher(cipher) else { throw OpenSSL.Failure("loading cipher \(cipher.rawValue)") }
        guard key.count == cipher.keyLength, iv.count == cipher.ivLength else {
            throw OpenSSL.Failure("\(cipher.rawValue) takes a \(cipher.keyLength)-byte key and a \(cipher.ivLength)-byte IV")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.Failure("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: input.count + cipher.ivLength)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        let done = Array(iv).withUnsafeBufferPointer { ivBytes in
            input.withUnsafeBufferPointer { inputBytes in
                out.withUnsafeMutableBufferPointer { outBytes in
                    EVP_CipherInit_ex2(context, evpCipher, key, ivBytes.baseAddress, direction == .encrypt ? 1 : 0, nil) == 1
                        && EVP_CipherUpdate(context, outBytes.baseAddress, &written, inputBytes.baseAddress, Int32(inputBytes.count)) == 1
                        && EVP_CipherFinal_ex(context, outBytes.baseAddress! + Int(written), &finalWritten) == 1
                }
            }
        }
        guard done else {
            throw OpenSSL.Failure(direction == .encrypt ? "encrypting with \(cipher.rawValue)" : "decrypting with \(cipher.rawValue)")
        }
        return Array(out[0..<Int(written + finalWritten)])
    }

    /// Digests and ciphers fetched from their providers once: OpenSSL 3
    /// otherwise looks each up by name on every use of `EVP_sha256()` and kin.
    private final class Fetched: @unchecked Sendable {
        // @unchecked: filled once in init and only read afterwards; fetched
        // algorithms are reference counted and safe to share between threads.
        private let digests: [DigestAlgorithm: OpaquePointer]
        private let ciphers: [ContentCipher: OpaquePointer]

        static let shared = Fetched()

        private init() {
            OpenSSL.initialize()
            var digests: [DigestAlgorithm: OpaquePointer] = [:]
            for algorithm in DigestAlgorithm.allCases {
                // "SHA-1", "SHA-256" …: OpenSSL's names for them too.
                if let md = EVP_MD_fetch(nil, algorithm.rawValue, nil) { digests[algorithm] = md }
            }
            var ciphers: [ContentCipher: OpaquePointer] = [:]
            for cipher in ContentCipher.allCases {
                if let evp = EVP_CIPHER_fetch(nil, cipher.rawValue, nil) { ciphers[cipher] = evp }
            }
            ERR_clear_error()
            self.digests = digests
            self.ciphers = ciphers
        }

        func digest(_ algorithm: DigestAlgorithm) -> OpaquePointer? { digests[algorithm] }
        func cipher(_ cipher: ContentCipher) -> OpaquePointer? { ciphers[cipher] }
    }
}
