import COpenSSL

/// The operations a CMS message is made of (a digest, an RSA signature, RSA
/// key transport, a CBC cipher), each one OpenSSL call on Swift values: the
/// digests and ciphers fetched from their provider once, RSA through its own
/// API (see the C shim). `CMSReader` and `CMSWriter` do the ASN.1 around
/// them in Swift.
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
        guard let rsa = key.rsa, let hash = Self.digest(message, digest) else { return false }
        let verified = signature.withUnsafeBufferPointer { signatureBytes in
            scepter_RSA_verify(digest.nid, hash, UInt32(hash.count), signatureBytes.baseAddress, UInt32(signatureBytes.count), rsa) == 1
        }
        if !verified { _ = OpenSSL.drainErrors() }
        return verified
    }

    /// `key`'s RSA PKCS #1 v1.5 signature over `message`, hashed with `digest`:
    /// the RA's over a CertRep's attributes, the CA's over a certificate or CRL.
    static func sign(_ message: [UInt8], digest: DigestAlgorithm, key: OpenSSLKey) throws -> [UInt8] {
        guard let rsa = key.rsa else { throw OpenSSL.Failure("signing: the key is not RSA") }
        guard let hash = Self.digest(message[...], digest) else {
            throw OpenSSL.Failure("hashing with \(digest.rawValue)")
        }
        var signature = [UInt8](repeating: 0, count: Int(scepter_RSA_size(rsa)))
        var length: UInt32 = 0
        guard scepter_RSA_sign(digest.nid, hash, UInt32(hash.count), &signature, &length, rsa) == 1 else {
            throw OpenSSL.Failure("making an RSA signature")
        }
        return Array(signature[0..<Int(length)])
    }

    /// The content-encryption key `encrypted` holds, RSA PKCS #1 v1.5 to
    /// `key`, of `length` bytes. A key that does not decrypt, or decrypts to
    /// another length, is replaced by random bytes, as OpenSSL's own CMS
    /// does: the content then fails to decrypt like any other bad message,
    /// and no answer tells a padding error from a content error
    /// (Bleichenbacher's attack needs that difference).
    static func unwrapKey(_ encrypted: ArraySlice<UInt8>, key: OpenSSLKey, length: Int) -> [UInt8] {
        let substitute = SystemRandom.bytes(length)
        guard let rsa = key.rsa else { return substitute }
        var plain = [UInt8](repeating: 0, count: Int(scepter_RSA_size(rsa)))
        // At most one modulus of input (a shorter one is a number with leading zeros).
        guard encrypted.count <= plain.count else { return substitute }
        let plainLength = encrypted.withUnsafeBufferPointer { input in
            scepter_RSA_private_decrypt_pkcs1(Int32(input.count), input.baseAddress, &plain, rsa)
        }
        ERR_clear_error()
        guard plainLength == length else { return substitute }
        return Array(plain[0..<length])
    }

    /// `contentKey` encrypted to `recipient` with RSA PKCS #1 v1.5.
    static func wrapKey(_ contentKey: [UInt8], to recipient: OpenSSLKey) throws -> [UInt8] {
        guard let rsa = recipient.rsa else { throw OpenSSL.Failure("encrypting the content key: the requester's key is not RSA") }
        var out = [UInt8](repeating: 0, count: Int(scepter_RSA_size(rsa)))
        let length = scepter_RSA_public_encrypt_pkcs1(Int32(contentKey.count), contentKey, &out, rsa)
        guard length > 0 else { throw OpenSSL.Failure("encrypting the content key to the requester") }
        return Array(out[0..<Int(length)])
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
