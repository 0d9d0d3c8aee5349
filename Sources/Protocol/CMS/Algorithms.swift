import COpenSSL

/// The content-encryption ciphers Scepter accepts in a pkcsPKIEnvelope and
/// answers with (a CertRep is encrypted with the cipher the requester used).
public enum ContentCipher: String, Sendable, Codable, CaseIterable {
    case des = "DES-CBC"
    case tripleDES = "DES-EDE3-CBC"
    case aes128 = "AES-128-CBC"
    case aes192 = "AES-192-CBC"
    case aes256 = "AES-256-CBC"

    init?(nid: Int32) {
        switch nid {
        case NID_des_cbc: self = .des
        case NID_des_ede3_cbc: self = .tripleDES
        case NID_aes_128_cbc: self = .aes128
        case NID_aes_192_cbc: self = .aes192
        case NID_aes_256_cbc: self = .aes256
        default: return nil
        }
    }

    var evpCipher: OpaquePointer? {
        switch self {
        case .des: EVP_des_cbc()
        case .tripleDES: EVP_des_ede3_cbc()
        case .aes128: EVP_aes_128_cbc()
        case .aes192: EVP_aes_192_cbc()
        case .aes256: EVP_aes_256_cbc()
        }
    }
}

/// Message digests accepted for the signer of a PKIMessage; the CertRep is
/// signed with the same one.
public enum DigestAlgorithm: String, Sendable, Codable, CaseIterable {
    case sha1 = "SHA-1"
    case sha224 = "SHA-224"
    case sha256 = "SHA-256"
    case sha384 = "SHA-384"
    case sha512 = "SHA-512"

    init?(nid: Int32) {
        switch nid {
        case NID_sha1: self = .sha1
        case NID_sha224: self = .sha224
        case NID_sha256: self = .sha256
        case NID_sha384: self = .sha384
        case NID_sha512: self = .sha512
        default: return nil
        }
    }

    var nid: Int32 {
        switch self {
        case .sha1: NID_sha1
        case .sha224: NID_sha224
        case .sha256: NID_sha256
        case .sha384: NID_sha384
        case .sha512: NID_sha512
        }
    }

    var evpDigest: OpaquePointer? {
        switch self {
        case .sha1: EVP_sha1()
        case .sha224: EVP_sha224()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }
}

/// How the content-encryption key was transported to the RA.
public enum KeyTransport: String, Sendable, Codable {
    case rsaPKCS1 = "RSA-PKCS1-v1_5"
    case rsaOAEP = "RSAES-OAEP"
}
