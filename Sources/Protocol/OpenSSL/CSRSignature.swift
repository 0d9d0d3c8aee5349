import COpenSSL

/// Verifies a PKCS#10 self-signature over the request info exactly as encoded.
enum CSRSignature {
    /// nil when the signature verifies; otherwise why not.
    static func verify(_ der: [UInt8]) -> String? {
        OpenSSL.initialize()
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509_REQ(nil, &cursor, buffer.count)
        }
        guard let request = parsed else { return OpenSSL.Failure("parsing the PKCS#10 request").description }
        defer { X509_REQ_free(request) }
        guard let key = X509_REQ_get0_pubkey(request) else {
            return OpenSSL.Failure("reading the request's public key").description
        }
        guard X509_REQ_verify(request, key) == 1 else {
            return OpenSSL.Failure("checking the signature").description
        }
        return nil
    }
}
