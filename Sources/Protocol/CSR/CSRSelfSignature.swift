import Crypto
import SwiftASN1
import X509
import _CryptoExtras

/// Verifies a CSR's self-signature with swift-crypto over the request info
/// exactly as sent, reusing the key swift-certificates already decoded
/// (OpenSSL would decode it again: about a tenth of a millisecond).
enum CSRSelfSignature {
    enum Result {
        case valid
        case invalid
        /// An algorithm this path does not cover; the caller asks OpenSSL.
        case unsupported
    }

    static func verify(_ der: [UInt8], request: CertificateSigningRequest) -> Result {
        guard let root = try? DER.parse(der), case .constructed(let parts) = root.content else { return .unsupported }
        var iterator = parts.makeIterator()
        guard let info = iterator.next(), iterator.next() != nil, let signatureNode = iterator.next(),
            let bits = try? ASN1BitString(derEncoded: signatureNode), bits.paddingBits == 0
        else { return .unsupported }
        let signed = info.encodedBytes
        let signature = Array(bits.bytes)
        let key = request.publicKey

        switch request.signatureAlgorithm {
        case .sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption, .sha1WithRSAEncryption:
            guard let rsa = _RSA.Signing.PublicKey(key) else { return .invalid }
            let candidate = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let valid: Bool
            switch request.signatureAlgorithm {
            case .sha256WithRSAEncryption: valid = rsa.isValidSignature(candidate, for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
            case .sha384WithRSAEncryption: valid = rsa.isValidSignature(candidate, for: SHA384.hash(data: signed), padding: .insecurePKCS1v1_5)
            case .sha512WithRSAEncryption: valid = rsa.isValidSignature(candidate, for: SHA512.hash(data: signed), padding: .insecurePKCS1v1_5)
            default: valid = rsa.isValidSignature(candidate, for: Insecure.SHA1.hash(data: signed), padding: .insecurePKCS1v1_5)
            }
            return valid ? .valid : .invalid
        case .ecdsaWithSHA256:
            return verifyECDSA(signature, over: SHA256.hash(data: signed), key: key)
        case .ecdsaWithSHA384:
            return verifyECDSA(signature, over: SHA384.hash(data: signed), key: key)
        case .ecdsaWithSHA512:
            return verifyECDSA(signature, over: SHA512.hash(data: signed), key: key)
        default:
            return .unsupported
        }
    }

    /// The hash is the algorithm's, the curve the key's: any pairing is valid
    /// (a P-256 key may sign with SHA-384). Curves other than P-256 and P-384 go to OpenSSL.
    private static func verifyECDSA(_ signature: [UInt8], over digest: some Digest, key: Certificate.PublicKey) -> Result {
        if let p256 = P256.Signing.PublicKey(key) {
            guard let candidate = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return .invalid }
            return p256.isValidSignature(candidate, for: digest) ? .valid : .invalid
        }
        if let p384 = P384.Signing.PublicKey(key) {
            guard let candidate = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return .invalid }
            return p384.isValidSignature(candidate, for: digest) ? .valid : .invalid
        }
        return .unsupported
    }
}
