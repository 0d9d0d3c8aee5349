import COpenSSL
import SwiftASN1
import X509

/// A profile's Registration Authority: the certificate clients encrypt to and
/// the key that decrypts requests and signs CertReps.
///
/// Separate encryption and signing pairs are supported (NDES's layout); by
/// default one RSA pair does both. Clients require RSA, so only RSA keys of
/// 2048 bits or more are accepted.
public struct RAIdentity: Sendable {
    public typealias Pair = CertificateKeyPair

    /// Decrypts pkcsPKIEnvelopes.
    public let encryption: Pair
    /// Signs CertReps.
    public let signing: Pair
    /// The pairs a pkcsPKIEnvelope may be addressed to, in the order tried:
    /// the encryption pair, then a separate signing pair whose certificate
    /// allows keyEncipherment too, since clients that take the first RA
    /// certificate with that bit (micromdm's) encrypt to it.
    package let decryptionPairs: [Pair]

    public init(encryption: Pair, signing: Pair) {
        self.encryption = encryption
        self.signing = signing
        let signingDecrypts = encryption.certificate != signing.certificate && Role.encryption.allowed(by: signing.certificate)
        decryptionPairs = signingDecrypts ? [encryption, signing] : [encryption]
    }

    /// A certificate's part in a split RA, and the keyUsage bit it needs.
    package enum Role: Sendable {
        case signing, encryption

        /// The keyUsage of a certificate made for `roles`: their bits only.
        package static func keyUsage(_ roles: [Role]) -> KeyUsage {
            var usage = KeyUsage()
            usage.digitalSignature = roles.contains(.signing)
            usage.keyEncipherment = roles.contains(.encryption)
            return usage
        }

        /// Whether the DER certificate may do this part: its keyUsage, when it
        /// has one, has the bit; a certificate without a keyUsage may do all.
        /// One whose keyUsage cannot be read may do nothing.
        package func allowed(by der: [UInt8]) -> Bool {
            guard let certificate = try? Certificate(derEncoded: der) else { return false }
            let usage: KeyUsage?
            do {
                usage = try certificate.extensions.keyUsage
            } catch {
                return false
            }
            guard let usage else { return true }
            switch self {
            case .signing: return usage.digitalSignature
            case .encryption: return usage.keyEncipherment
            }
        }
    }

    public init(_ pair: Pair) {
        self.init(encryption: pair, signing: pair)
    }

    /// The RA certificates to publish with GetCACert: one when shared, both otherwise.
    public var certificates: [[UInt8]] {
        encryption.certificate == signing.certificate
            ? [signing.certificate] : [signing.certificate, encryption.certificate]
    }
}

/// A certificate and its private key, held by OpenSSL: an RA pair, or a
/// requester's signer pair on the client side.
public struct CertificateKeyPair: Sendable {
    /// DER of the certificate.
    public let certificate: [UInt8]
    let openSSLCertificate: OpenSSLCertificate
    let key: OpenSSLKey
    /// The certificate's IssuerAndSerialNumber, DER, as CMS names a signer
    /// or recipient; nil for a certificate `CertificateFields` does not read,
    /// which is then named by OpenSSL's CMS.
    let issuerAndSerialNumber: [UInt8]?

    /// Loads a PEM certificate and its PEM private key and checks they belong
    /// together. The key must be RSA of 2048 bits or more: SCEP encrypts to it.
    public init(certificatePEM: String, keyPEM: String) throws(CertificateKeyPair.LoadError) {
        guard let der = PEM.firstBlock(in: certificatePEM, label: "CERTIFICATE") else {
            throw LoadError(reason: "no PEM CERTIFICATE block")
        }
        let certificate: OpenSSLCertificate
        let key: OpenSSLKey
        do {
            certificate = try OpenSSLCertificate(derEncoded: der)
        } catch {
            throw LoadError(reason: "certificate does not parse (\(error))")
        }
        do {
            key = try OpenSSLKey(privateKeyPEM: keyPEM)
        } catch {
            throw LoadError(reason: "private key does not parse (\(error))")
        }
        guard key.isRSA else { throw LoadError(reason: "key must be RSA (SCEP encrypts to RSA keys only)") }
        guard key.bits >= 2048 else { throw LoadError(reason: "key has \(key.bits) bits; 2048 or more required") }
        guard certificate.matches(key) else {
            _ = OpenSSL.drainErrors()
            throw LoadError(reason: "private key does not belong to the certificate")
        }
        self.certificate = der
        self.openSSLCertificate = certificate
        self.key = key
        self.issuerAndSerialNumber = CertificateFields(der: der)?.issuerAndSerialNumber
    }

    public struct LoadError: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }
}
