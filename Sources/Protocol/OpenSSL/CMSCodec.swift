import COpenSSL

/// CMS/PKCS#7 operations over OpenSSL, with Swift values in and out.
enum CMSCodec {
    /// A SignedData as Scepter needs it: the signer, its SCEP attributes and
    /// whether its signature holds.
    struct SignedData {
        var signerCertificate: [UInt8]?
        /// The signer as a CertRep's recipient; nil when it is not RSA.
        var signer: CMSRecipient?
        var digestNID: Int32
        var attributes: [Attribute: [UInt8]]
        var content: [UInt8]
        /// nil when the signature over the authenticated attributes and the
        /// content digest verifies; otherwise why not.
        var signatureFailure: String?
    }

    enum Attribute: CaseIterable {
        case messageType, pkiStatus, failInfo, senderNonce, recipientNonce, transactionID

        var object: OpaquePointer {
            let objects = SCEPObjects.shared
            switch self {
            case .messageType: return objects.messageType
            case .pkiStatus: return objects.pkiStatus
            case .failInfo: return objects.failInfo
            case .senderNonce: return objects.senderNonce
            case .recipientNonce: return objects.recipientNonce
            case .transactionID: return objects.transactionID
            }
        }

        /// The ASN.1 type the attribute is written with (RFC 8894 §3.2.1).
        var asn1Type: Int32 {
            switch self {
            case .senderNonce, .recipientNonce: V_ASN1_OCTET_STRING
            default: V_ASN1_PRINTABLESTRING
            }
        }
    }

    struct ReadError: Error { var reason: String }

    /// Parses a DER/BER CMS SignedData, verifies its first signer and extracts
    /// the SCEP attributes. Throws only when the bytes are not a SignedData.
    ///
    /// A DER message of the shape every SCEP client sends, whose signature
    /// holds, is read in Swift (`CMSReader`), with OpenSSL only for the RSA
    /// and the digest: the same checks on the same bytes at a fraction of the
    /// cost. Any other message is read by OpenSSL's CMS, which says why not.
    static func readSignedData(_ der: [UInt8]) throws(ReadError) -> SignedData {
        if let verified = CMSReader.verifiedSignedData(der) {
            return SignedData(
                signerCertificate: Array(verified.signer.der),
                signer: CMSRecipient(verified.signer, key: verified.signerKey),
                digestNID: verified.digest.nid,
                attributes: verified.attributes,
                content: Array(verified.content),
                signatureFailure: nil)
        }
        return try readSignedDataWhole(der)
    }

    /// `readSignedData` with OpenSSL parsing every certificate in the message.
    static func readSignedDataWhole(_ der: [UInt8]) throws(ReadError) -> SignedData {
        OpenSSL.initialize()
        guard let cms = parse(der) else { throw ReadError(reason: "body is not a DER or BER CMS ContentInfo") }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed else {
            throw ReadError(reason: "CMS content is not SignedData")
        }
        guard let signerInfo = firstSignerInfo(cms) else {
            throw ReadError(reason: "SignedData has no SignerInfo")
        }
        // The signer must travel in the message: a SCEP requester has no other
        // way to tell the RA which key to encrypt the answer to.
        var signer: ([UInt8], OpenSSLCertificate)?
        if let certificates = CMS_get1_certs(cms) {
            let stack = OpenSSLCertificateStack(takingOwnershipOf: certificates)
            for index in 0..<stack.count {
                if let candidate = stack.borrow(index), CMS_SignerInfo_cert_cmp(signerInfo, candidate) == 0,
                    let candidateDER = try? OpenSSLCertificate.encodeBorrowed(candidate)
                {
                    X509_up_ref(candidate)
                    signer = (candidateDER, OpenSSLCertificate(takingOwnershipOf: candidate))
                    break
                }
            }
        }
        return read(cms, signerInfo: signerInfo, signer: signer)
    }

    private static func parse(_ der: [UInt8]) -> OpaquePointer? {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
        }
        if parsed == nil { _ = OpenSSL.drainErrors() }
        return parsed
    }

    private static func firstSignerInfo(_ cms: OpaquePointer) -> OpaquePointer? {
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed, let signerInfos = CMS_get0_SignerInfos(cms),
            scepter_sk_CMS_SignerInfo_num(signerInfos) >= 1
        else { return nil }
        return scepter_sk_CMS_SignerInfo_value(signerInfos, 0)
    }

    /// The attributes, the digest and the verdict on the signature, with the
    /// signer found (its DER and as OpenSSL holds it) or not.
    private static func read(_ cms: OpaquePointer, signerInfo: OpaquePointer, signer: ([UInt8], OpenSSLCertificate)?) -> SignedData {
        var attributes: [Attribute: [UInt8]] = [:]
        for attribute in Attribute.allCases {
            let index = CMS_signed_get_attr_by_OBJ(signerInfo, attribute.object, -1)
            guard index >= 0, let x509Attribute = CMS_signed_get_attr(signerInfo, index),
                let value = scepter_X509_ATTRIBUTE_string(x509Attribute)
            else { continue }
            attributes[attribute] = OpenSSL.bytes(of: value)
        }

        var digestAlgorithm: UnsafeMutablePointer<X509_ALGOR>?
        CMS_SignerInfo_get0_algs(signerInfo, nil, nil, &digestAlgorithm, nil)
        var digestObject: OpaquePointer?
        if let digestAlgorithm {
            X509_ALGOR_get0(&digestObject, nil, nil, digestAlgorithm)
        }
        let digestNID = digestObject.map { OBJ_obj2nid($0) } ?? NID_undef

        var content: [UInt8] = []
        var signatureFailure: String?
        if let signer {
            do {
                // The signer is named explicitly: the message may no longer carry it (see above).
                let signers = try OpenSSLCertificateStack([signer.1])
                // A detached SignedData (no content at all) is verified over nothing.
                let detached = CMS_is_detached(cms) == 1
                content = try OpenSSL.collectingBIO { out in
                    let flags = UInt32(CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)
                    try OpenSSL.withReadBIO([]) { empty in
                        guard CMS_verify(cms, signers.pointer, nil, detached ? empty : nil, out, flags) == 1 else {
                            throw OpenSSL.Failure("verifying the signature over the authenticated attributes")
                        }
                    }
                }
            } catch {
                signatureFailure = String(describing: error)
            }
        } else {
            signatureFailure = "the signer's certificate is not in the SignedData"
        }
        if signatureFailure != nil {
            // Still surface the content so the caller can decide what to answer.
            if let contentPointer = CMS_get0_content(cms), let octets = contentPointer.pointee {
                content = OpenSSL.bytes(of: UnsafePointer(octets))
            }
        }
        return SignedData(
            signerCertificate: signer?.0,
            signer: signer.flatMap { CMSRecipient(certificate: $0.0) },
            digestNID: digestNID,
            attributes: attributes,
            content: content,
            signatureFailure: signatureFailure
        )
    }

    /// The algorithms an EnvelopedData says it uses, read without decrypting.
    static func envelopeAlgorithms(_ der: [UInt8]) -> (cipherNID: Int32, keyTransportNID: Int32)? {
        let parsed = der.withUnsafeBufferPointer { buffer -> UnsafeMutablePointer<PKCS7>? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PKCS7(nil, &cursor, buffer.count)
        }
        guard let p7 = parsed else {
            _ = OpenSSL.drainErrors()
            return nil
        }
        defer { PKCS7_free(p7) }
        return (scepter_PKCS7_enveloped_cipher_nid(p7), scepter_PKCS7_enveloped_keytransport_nid(p7))
    }

    enum DecryptError: Error {
        case notEnveloped
        /// With the IssuerAndSerialNumbers (DER) of the first few
        /// key-transport recipients it is addressed to instead, and how many
        /// recipients it has.
        case notForThisRecipient(others: [[UInt8]], count: Int)
        case failed(String)
    }

    /// Decrypts an EnvelopedData addressed to `certificate` with `key`.
    static func decrypt(_ der: [UInt8], key: OpenSSLKey, certificate: OpenSSLCertificate) throws(DecryptError) -> [UInt8] {
        OpenSSL.initialize()
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
        }
        guard let cms = parsed else {
            _ = OpenSSL.drainErrors()
            throw .notEnveloped
        }
        defer { CMS_ContentInfo_free(cms) }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_enveloped else { throw .notEnveloped }
        var addressedToUs = false
        var others: [[UInt8]] = []
        var count = 0
        if let recipients = CMS_get0_RecipientInfos(cms) {
            count = Int(scepter_sk_CMS_RecipientInfo_num(recipients))
            for index in 0..<scepter_sk_CMS_RecipientInfo_num(recipients) {
                guard let recipient = scepter_sk_CMS_RecipientInfo_value(recipients, index),
                    CMS_RecipientInfo_type(recipient) == CMS_RECIPINFO_TRANS
                else { continue }
                if CMS_RecipientInfo_ktri_cert_cmp(recipient, certificate.pointer) == 0 {
                    addressedToUs = true
                } else if others.count < 4, let named = issuerAndSerialNumber(of: recipient) {
                    others.append(named)
                }
            }
        }
        guard addressedToUs else { throw .notForThisRecipient(others: others, count: count) }
        do {
            return try OpenSSL.collectingBIO { out in
                guard CMS_decrypt(cms, key.pointer, certificate.pointer, nil, out, UInt32(CMS_BINARY)) == 1 else {
                    throw OpenSSL.Failure("decrypting the pkcsPKIEnvelope")
                }
            }
        } catch {
            throw .failed(String(describing: error))
        }
    }

    /// A key-transport recipient's IssuerAndSerialNumber, DER; nil for one
    /// named by subject key identifier.
    private static func issuerAndSerialNumber(of recipient: OpaquePointer) -> [UInt8]? {
        var issuer: OpaquePointer?
        var serial: UnsafeMutablePointer<ASN1_INTEGER>?
        guard CMS_RecipientInfo_ktri_get0_signer_id(recipient, nil, &issuer, &serial) == 1, let issuer, let serial,
            let name = try? OpenSSL.encode({ i2d_X509_NAME(issuer, $0) }, what: "a recipient's issuer"),
            let number = try? OpenSSL.encode({ i2d_ASN1_INTEGER(serial, $0) }, what: "a recipient's serial")
        else { return nil }
        return DERTag.tlv(DERTag.sequence, name, number)
    }

    /// Encrypts `content` to `recipient` with `cipher`; key transport is RSA
    /// PKCS#1 v1.5 unless `keyTransport` asks for OAEP (client side, tests).
    static func encrypt(
        _ content: [UInt8], to recipient: OpenSSLCertificate, cipher: ContentCipher, keyTransport: KeyTransport = .rsaPKCS1
    ) throws -> [UInt8] {
        OpenSSL.initialize()
        guard let evpCipher = cipher.evpCipher else { throw OpenSSL.Failure("loading cipher \(cipher.rawValue)") }
        let flags = UInt32(CMS_BINARY)
        let cms: OpaquePointer?
        switch keyTransport {
        case .rsaPKCS1:
            let recipients = try OpenSSLCertificateStack([recipient])
            cms = try OpenSSL.withReadBIO(content) { input in
                CMS_encrypt(recipients.pointer, input, evpCipher, flags)
            }
        case .rsaOAEP:
            guard let partial = CMS_encrypt(nil, nil, evpCipher, flags | UInt32(CMS_PARTIAL)) else {
                throw OpenSSL.Failure("creating an EnvelopedData")
            }
            guard let info = CMS_add1_recipient_cert(partial, recipient.pointer, flags | UInt32(CMS_KEY_PARAM)),
                let context = CMS_RecipientInfo_get0_pkey_ctx(info),
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) > 0
            else {
                CMS_ContentInfo_free(partial)
                throw OpenSSL.Failure("adding an OAEP recipient")
            }
            let finished = try OpenSSL.withReadBIO(content) { input in CMS_final(partial, input, nil, flags) }
            guard finished == 1 else {
                CMS_ContentInfo_free(partial)
                throw OpenSSL.Failure("encrypting with OAEP")
            }
            cms = partial
        }
        guard let cms else { throw OpenSSL.Failure("encrypting with \(cipher.rawValue)") }
        defer { CMS_ContentInfo_free(cms) }
        return try OpenSSL.encode({ i2d_CMS_ContentInfo(cms, $0) }, what: "an EnvelopedData")
    }

    /// The certificates and CRLs of a (degenerate) SignedData, in order.
    static func certificatesAndCRLs(of der: [UInt8]) throws -> (certificates: [[UInt8]], crls: [[UInt8]]) {
        let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_CMS_ContentInfo(nil, &cursor, buffer.count)
        }
        guard let cms = parsed else { throw OpenSSL.Failure("parsing a SignedData") }
        defer { CMS_ContentInfo_free(cms) }
        var certificates: [[UInt8]] = []
        if let stack = CMS_get1_certs(cms) {
            let owned = OpenSSLCertificateStack(takingOwnershipOf: stack)
            for index in 0..<owned.count {
                if let certificate = owned.borrow(index) { certificates.append(try OpenSSLCertificate.encodeBorrowed(certificate)) }
            }
        }
        var crls: [[UInt8]] = []
        if let stack = CMS_get1_crls(cms) {
            defer { scepter_sk_X509_CRL_pop_free(stack) }
            for index in 0..<scepter_sk_X509_CRL_num(stack) {
                if let crl = scepter_sk_X509_CRL_value(stack, index) {
                    crls.append(try OpenSSL.encode({ i2d_X509_CRL(crl, $0) }, what: "a CRL"))
                }
            }
        }
        return (certificates, crls)
    }

    /// Signs `content` (empty in FAILURE/PENDING CertReps, never detached)
    /// with the SCEP attributes as authenticated attributes.
    static func sign(
        _ content: [UInt8],
        certificate: OpenSSLCertificate,
        key: OpenSSLKey,
        digest: DigestAlgorithm,
        attributes: [(Attribute, [UInt8])]
    ) throws -> [UInt8] {
        OpenSSL.initialize()
        let flags = UInt32(CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP)
        guard let cms = CMS_sign(nil, nil, nil, nil, flags) else { throw OpenSSL.Failure("creating a SignedData") }
        defer { CMS_ContentInfo_free(cms) }
        guard let evpDigest = digest.evpDigest,
            let signerInfo = CMS_add1_signer(cms, certificate.pointer, key.pointer, evpDigest, flags)
        else {
            throw OpenSSL.Failure("adding the RA as signer")
        }
        for (attribute, value) in attributes {
            let added = value.withUnsafeBytes { raw in
                CMS_signed_add1_attr_by_OBJ(signerInfo, attribute.object, attribute.asn1Type, raw.baseAddress, Int32(raw.count))
            }
            guard added == 1 else { throw OpenSSL.Failure("adding a SCEP attribute") }
        }
        try OpenSSL.withReadBIO(content) { data in
            guard CMS_final(cms, data, nil, flags) == 1 else { throw OpenSSL.Failure("signing the CertRep") }
        }
        return try OpenSSL.encode({ i2d_CMS_ContentInfo(cms, $0) }, what: "a SignedData")
    }
}

extension OpenSSLCertificate {
    /// DER of a certificate we do not own.
    static func encodeBorrowed(_ pointer: OpaquePointer) throws -> [UInt8] {
        try OpenSSL.encode({ i2d_X509(pointer, $0) }, what: "a certificate")
    }
}
