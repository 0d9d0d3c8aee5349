import COpenSSL

/// An OpenSSL `EVP_PKEY`, freed on deinit.
final class OpenSSLKey: @unchecked Sendable {
    // @unchecked: the key is never mutated after init; OpenSSL 3 keys are safe
    // to use from several threads at once, each operation with its own context.
    let pointer: OpaquePointer
    /// The key's RSA (owned by the EVP_PKEY); nil for any other key.
    let rsa: OpaquePointer?

    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
        // Read once here: for a provider key OpenSSL makes and caches the copy on first use.
        self.rsa = scepter_EVP_PKEY_get0_RSA(pointer)
        ERR_clear_error()
    }

    deinit { EVP_PKEY_free(pointer) }

    /// Reads a PEM private key (PKCS#1, SEC1 or PKCS#8, unencrypted).
    convenience init(privateKeyPEM pem: String) throws {
        OpenSSL.initialize()
        let key = try OpenSSL.withReadBIO(Array(pem.utf8)) { bio in
            PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else { throw OpenSSL.Failure("reading a PEM private key") }
        self.init(takingOwnershipOf: key)
    }

    var isRSA: Bool { EVP_PKEY_get_base_id(pointer) == EVP_PKEY_RSA }
    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
}

/// An OpenSSL `X509`, freed on deinit.
final class OpenSSLCertificate: @unchecked Sendable {
    // @unchecked: never mutated after init; read-only use is thread-safe.
    let pointer: OpaquePointer

    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }

    convenience init(derEncoded der: [UInt8]) throws {
        let cert = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let cert else { throw OpenSSL.Failure("parsing a DER certificate") }
        self.init(takingOwnershipOf: cert)
    }

    var derEncoded: [UInt8] {
        get throws {
            try OpenSSL.encode({ i2d_X509(pointer, $0) }, what: "a certificate")
        }
    }

    /// Whether `key` is the private key of this certificate.
    func matches(_ key: OpenSSLKey) -> Bool {
        X509_check_private_key(pointer, key.pointer) == 1
    }
}

/// A `STACK_OF(X509)` holding its own references; freed with the certificates.
final class OpenSSLCertificateStack {
    let pointer: OpaquePointer

    init(_ certificates: [OpenSSLCertificate]) throws {
        guard let stack = scepter_sk_X509_new_null() else {
            throw OpenSSL.Failure("allocating a certificate stack")
        }
        self.pointer = stack
        for certificate in certificates {
            X509_up_ref(certificate.pointer)
            guard scepter_sk_X509_push(stack, certificate.pointer) > 0 else {
                X509_free(certificate.pointer)
                throw OpenSSL.Failure("building a certificate stack")
            }
        }
    }

    init(takingOwnershipOf pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { scepter_sk_X509_pop_free(pointer) }

    var count: Int { Int(scepter_sk_X509_num(pointer)) }

    /// A borrowed element: valid while the stack lives.
    func borrow(_ index: Int) -> OpaquePointer? { scepter_sk_X509_value(pointer, Int32(index)) }
}

/// The ASN.1 object identifiers of the SCEP signed attributes, created once.
final class SCEPObjects: @unchecked Sendable {
    // @unchecked: the ASN1_OBJECTs are created once and only read afterwards.
    let messageType: OpaquePointer
    let pkiStatus: OpaquePointer
    let failInfo: OpaquePointer
    let senderNonce: OpaquePointer
    let recipientNonce: OpaquePointer
    let transactionID: OpaquePointer

    static let shared = SCEPObjects()

    private init() {
        func object(_ oid: String) -> OpaquePointer {
            // A constant, well-formed OID: OBJ_txt2obj only fails on allocation failure.
            guard let object = OBJ_txt2obj(oid, 1) else { preconditionFailure("OBJ_txt2obj(\(oid)) failed") }
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
