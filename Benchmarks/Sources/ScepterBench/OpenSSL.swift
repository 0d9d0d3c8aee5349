import CBenchOpenSSL

/// Thin owners of OpenSSL objects for the harness's own SCEP client. The
/// harness does not share code with the server: it builds and reads PKIMessages
/// the way a device would, so a bug in the server's codec cannot hide here.
struct OpenSSLError: Error, CustomStringConvertible {
    var description: String

    init(_ what: String) {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        description = messages.isEmpty ? what : "\(what): \(messages.joined(separator: "; "))"
    }
}

enum OpenSSLLib {
    /// Reads DER with a d2i function.
    static func decode<T>(_ der: [UInt8], _ d2i: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> T?) -> T? {
        der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i(&cursor, buffer.count)
        }
    }

    /// Serializes with an i2d function (size, then bytes).
    static func encode(_ what: String, _ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) throws -> [UInt8] {
        let length = i2d(nil)
        guard length > 0 else { throw OpenSSLError("encoding \(what)") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&cursor)
        }
        guard written == length else { throw OpenSSLError("encoding \(what)") }
        return output
    }

    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> R) throws -> R {
        let storage = bytes.isEmpty ? [0] : bytes
        return try storage.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(bytes.count)) else { throw OpenSSLError("BIO_new_mem_buf") }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` with a writable memory BIO and returns what it wrote.
    static func collecting(_ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError("BIO_new") }
        defer { BIO_free(bio) }
        try body(bio)
        var data: UnsafeMutablePointer<CChar>?
        let length = bench_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    static func bytes(of string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }
}

/// An `EVP_PKEY`.
final class PKey: @unchecked Sendable {
    // @unchecked: never mutated after init; OpenSSL 3 keys are safe to share.
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// A PEM private key (PKCS#1, PKCS#8 or SEC1).
    convenience init(privateKeyPEM pem: String) throws {
        let key = try OpenSSLLib.withReadBIO(Array(pem.utf8)) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let key else { throw OpenSSLError("reading a PEM private key") }
        self.init(takingOwnershipOf: key)
    }

    /// A DER private key (PKCS#1 RSAPrivateKey or PKCS#8).
    convenience init(privateKeyDER der: [UInt8]) throws {
        guard let key = OpenSSLLib.decode(der, { d2i_AutoPrivateKey(nil, $0, $1) }) else {
            throw OpenSSLError("reading a DER private key")
        }
        self.init(takingOwnershipOf: key)
    }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
}

/// An `X509`.
final class X509Cert: @unchecked Sendable {
    // @unchecked: never mutated after init; read-only use is thread-safe.
    let pointer: OpaquePointer
    let der: [UInt8]

    init(derEncoded der: [UInt8]) throws {
        guard let cert = OpenSSLLib.decode(der, { d2i_X509(nil, $0, $1) }) else { throw OpenSSLError("parsing a certificate") }
        self.pointer = cert
        self.der = der
    }

    /// Takes a reference to a certificate owned elsewhere.
    init(borrowing pointer: OpaquePointer) throws {
        X509_up_ref(pointer)
        self.pointer = pointer
        self.der = try OpenSSLLib.encode("a certificate") { i2d_X509(pointer, $0) }
    }

    deinit { X509_free(pointer) }

    var isCA: Bool { X509_check_ca(pointer) != 0 }

    /// The certificate's public key (a new reference).
    var publicKey: PKey? { X509_get_pubkey(pointer).map(PKey.init(takingOwnershipOf:)) }

    func matches(privateKey: PKey) -> Bool { X509_check_private_key(pointer, privateKey.pointer) == 1 }

    /// Whether `issuer`'s key signed this certificate.
    func isSigned(by issuer: X509Cert) -> Bool {
        guard let key = issuer.publicKey else { return false }
        return X509_verify(pointer, key.pointer) == 1
    }
}

/// A `STACK_OF(X509)` that holds its own references.
final class CertStack {
    let pointer: OpaquePointer

    init(_ certificates: [X509Cert]) throws {
        guard let stack = bench_sk_X509_new_null() else { throw OpenSSLError("sk_X509_new_null") }
        pointer = stack
        for certificate in certificates {
            X509_up_ref(certificate.pointer)
            guard bench_sk_X509_push(stack, certificate.pointer) > 0 else {
                X509_free(certificate.pointer)
                throw OpenSSLError("sk_X509_push")
            }
        }
    }

    init(takingOwnershipOf pointer: OpaquePointer) { self.pointer = pointer }
    deinit { bench_sk_X509_pop_free(pointer) }

    var certificates: [X509Cert] {
        (0..<bench_sk_X509_num(pointer)).compactMap { index in
            bench_sk_X509_value(pointer, index).flatMap { try? X509Cert(borrowing: $0) }
        }
    }
}

/// The SCEP attribute OIDs (RFC 8894 §3.2.1), created once.
final class SCEPOIDs: @unchecked Sendable {
    // @unchecked: the objects are created once and only read afterwards.
    let messageType: OpaquePointer
    let pkiStatus: OpaquePointer
    let failInfo: OpaquePointer
    let senderNonce: OpaquePointer
    let recipientNonce: OpaquePointer
    let transactionID: OpaquePointer

    static let shared = SCEPOIDs()

    private init() {
        func object(_ oid: String) -> OpaquePointer {
            guard let object = OBJ_txt2obj(oid, 1) else { preconditionFailure("OBJ_txt2obj(\(oid))") }
            return object
        }
        messageType = object("2.16.840.1.113733.1.9.2")
        pkiStatus = object("2.16.840.1.113733.1.9.3")
        failInfo = object("2.16.840.1.113733.1.9.4")
        senderNonce = object("2.16.840.1.113733.1.9.5")
        recipientNonce = object("2.16.840.1.113733.1.9.6")
        transactionID = object("2.16.840.1.113733.1.9.7")
    }
}

enum OpenSSLVersion {
    /// "OpenSSL 3.0.x ..." of the libcrypto the harness (and the server) loaded.
    static var text: String {
        OpenSSL_version(OPENSSL_VERSION).map { String(cString: $0) } ?? "OpenSSL (unknown version)"
    }
}
