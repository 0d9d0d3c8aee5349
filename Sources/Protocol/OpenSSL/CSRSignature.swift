import COpenSSL

/// Verifies a PKCS#10 self-signature over the request info exactly as encoded.
enum CSRSignature {
    enum Result {
        case valid(rsaBits: Int?)
        case unparseable(String)
        case invalid(String)
    }

    /// Parses with OpenSSL (lenient about DER details) and checks the signature.
    static func verify(_ der: [UInt8]) -> Result {
        OpenSSL.initialize()
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509_REQ(nil, &cursor, buffer.count)
        }
        guard let request = parsed else { return .unparseable(OpenSSL.Failure("parsing the PKCS#10 request").description) }
        defer { X509_REQ_free(request) }
        guard let key = X509_REQ_get0_pubkey(request) else {
            return .unparseable(OpenSSL.Failure("reading the request's public key").description)
        }
        guard X509_REQ_verify(request, key) == 1 else {
            return .invalid(OpenSSL.Failure("checking the signature").description)
        }
        return .valid(rsaBits: EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? Int(EVP_PKEY_get_bits(key)) : nil)
    }
}
