import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras
import ScepterProtocol

/// Creates CA and RA key pairs for `scepter ca init` and `scepter dev`, and the request and checks of
/// `scepter ca csr` and `scepter ca ra` for a CA an enterprise CA signs.
package enum PKIBootstrap {
    package enum KeyAlgorithm: String, Sendable, CaseIterable {
        /// RSA 3072, the default.
        case rsa
        /// RSA 2048: the common issuing-CA size, and the cheapest RSA signature.
        case rsa2048
        /// ECDSA P-256.
        case ecdsa
    }

    /// A PEM certificate and its PEM private key.
    package struct Pair: Sendable {
        package var certificatePEM: String
        package var keyPEM: String

        package init(certificatePEM: String, keyPEM: String) {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
        }
    }

    /// A problem with an operator's input (a subject, a CA certificate or key), worded for the command line.
    package struct Problem: Error, CustomStringConvertible {
        package var message: String
        package var description: String { message }

        package init(_ message: String) { self.message = message }
    }

    /// `O=Scepter, CN=<commonName>`: the subject `ca init` and `scepter dev` give their CA and RA.
    package static func scepterName(commonName: String) throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationName("Scepter")
            CommonName(commonName)
        }
    }

    /// A new private key: the key itself and its unencrypted PEM (PKCS#1 for RSA, PKCS#8 for P-256).
    static func makeKey(_ algorithm: KeyAlgorithm) throws -> (key: Certificate.PrivateKey, pem: String) {
        switch algorithm {
        case .rsa, .rsa2048:
            let rsa = try _RSA.Signing.PrivateKey(keySize: algorithm == .rsa ? .bits3072 : .bits2048)
            return (Certificate.PrivateKey(rsa), rsa.pemRepresentation)
        case .ecdsa:
            let p256 = P256.Signing.PrivateKey()
            return (Certificate.PrivateKey(p256), p256.pemRepresentation)
        }
    }

    /// What an issuing CA needs, asked for by `ca csr` and given by `ca init`: it signs only end-entity
    /// certificates (pathlen 0), its RA and OCSP responders (keyCertSign), CRLs (cRLSign), and OCSP
    /// answers itself under `SCEPTER_OCSP_SIGNER=ca` (digitalSignature).
    static let issuingCAConstraints = BasicConstraints.isCertificateAuthority(maxPathLength: 0)
    static let issuingCAKeyUsage = KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true)

    /// A self-signed root CA named `O=Scepter, CN=<commonName>`, valid 10 years.
    package static func makeRootCA(commonName: String, algorithm: KeyAlgorithm, now: Date = Date()) throws -> Pair {
        try makeRootCA(subject: scepterName(commonName: commonName), algorithm: algorithm, now: now)
    }

    /// A self-signed root CA with `subject`, valid 10 years.
    package static func makeRootCA(subject name: DistinguishedName, algorithm: KeyAlgorithm, now: Date = Date()) throws -> Pair {
        let (key, keyPEM) = try makeKey(algorithm)
        let extensions = try Certificate.Extensions {
            Critical(issuingCAConstraints)
            Critical(issuingCAKeyUsage)
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: algorithm == .ecdsa ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
            extensions: extensions, issuerPrivateKey: key)
        return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: keyPEM)
    }

    /// A new CA key and a PKCS#10 request for it, for an enterprise CA to sign as a subordinate: the
    /// extensionRequest asks for the issuing CA's basicConstraints and keyUsage (the signer adds the key
    /// identifiers).
    package static func makeCASigningRequest(subject: DistinguishedName, algorithm: KeyAlgorithm) throws -> (requestPEM: String, keyPEM: String) {
        let (key, keyPEM) = try makeKey(algorithm)
        let extensions = try Certificate.Extensions {
            Critical(issuingCAConstraints)
            Critical(issuingCAKeyUsage)
        }
        let request = try CertificateSigningRequest(
            version: .v1, subject: subject, privateKey: key,
            attributes: CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))]),
            signatureAlgorithm: algorithm == .ecdsa ? .ecdsaWithSHA256 : .sha256WithRSAEncryption)
        return (try request.serializeAsPEM().pemString, keyPEM)
    }

    /// Checks that `ca` can issue Scepter's RA, device certificates and CRLs: the certificate parses, the
    /// key belongs to it, it says CA:TRUE, its keyUsage (when it has one) allows keyCertSign and
    /// cRLSign, and it is valid at `now` (nil: not checked, as at a start, where an expired CA is
    /// warned of instead: a retired one still answers for its CRL). `certificateName` and `keyName`
    /// name the inputs in the refusal. Returns warnings: what works but not everywhere.
    package static func checkIssuingCA(
        _ ca: Pair, certificateName: String, keyName: String, now: Date? = Date()
    ) throws(Problem) -> [String] {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: ca.certificatePEM)
        } catch {
            throw Problem("\(certificateName) does not hold a PEM certificate (-----BEGIN CERTIFICATE-----): \(error)")
        }
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: ca.keyPEM)
        } catch {
            throw Problem("\(keyName) does not hold an unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8): \(error)")
        }
        guard key.publicKey == certificate.publicKey else {
            throw Problem("\(keyName) does not belong to \(certificateName): the certificate holds another public key (was the request made with this key?)")
        }
        guard case .isCertificateAuthority(let pathLength) = (try? certificate.extensions.basicConstraints) ?? nil else {
            throw Problem("\(certificateName) is not a CA certificate: its basicConstraints do not say CA:TRUE (sign it with a subordinate-CA template, e.g. AD CS SubCA)")
        }
        var warnings: [String] = []
        if let keyUsage = (try? certificate.extensions.keyUsage) ?? nil {
            let missing = [keyUsage.keyCertSign ? nil : "keyCertSign", keyUsage.cRLSign ? nil : "cRLSign"].compactMap { $0 }
            guard missing.isEmpty else {
                throw Problem("\(certificateName) cannot sign what Scepter signs: its keyUsage (\(keyUsage)) lacks \(missing.joined(separator: " and "))")
            }
            if !keyUsage.digitalSignature {
                warnings.append("\(certificateName) lacks keyUsage digitalSignature: keep SCEPTER_OCSP_SIGNER=delegated (the default); OCSP answers signed by the CA itself would break strict clients")
            }
        }
        if let pathLength, pathLength > 0 {
            warnings.append("\(certificateName) allows \(pathLength) CA level(s) below it; Scepter issues end-entity certificates only, pathlen 0 is enough")
        }
        guard let now else { return warnings }
        guard certificate.notValidAfter > now else {
            throw Problem("\(certificateName) expired on \(certificate.notValidAfter); have the enterprise CA sign a new one")
        }
        guard certificate.notValidBefore <= now else {
            throw Problem("\(certificateName) is not valid before \(certificate.notValidBefore); check this machine's clock")
        }
        return warnings
    }

    /// Checks that `chainPEM` holds the certificates above `certificatePEM`, nearest first: each parses,
    /// and each signed the one below it. `chainName` names the file in the refusal.
    package static func checkChain(_ chainPEM: String, above certificatePEM: String, chainName: String) throws(Problem) {
        let blocks = PEM.blocks(in: chainPEM, label: "CERTIFICATE")
        guard !blocks.isEmpty else { throw Problem("\(chainName) holds no PEM certificate") }
        guard var below = try? Certificate(pemEncoded: certificatePEM) else { throw Problem("the CA certificate does not parse") }
        for (index, der) in blocks.enumerated() {
            guard let above = try? Certificate(derEncoded: der) else {
                throw Problem("\(chainName): certificate \(index + 1) does not parse")
            }
            guard above.subject == below.issuer, above.publicKey.isValidSignature(below.signature, for: below) else {
                throw Problem(
                    "\(chainName): certificate \(index + 1) (\(above.subject)) did not sign \(below.subject) (issued by \(below.issuer)); list the certificates above the CA, nearest first")
            }
            below = above
        }
    }

    /// Parses an RFC 4514 distinguished name as operators write it (`CN=Example Device CA,O=Example Corp,C=US`,
    /// most specific first; spaces around `,` and `=` are ignored, `\,` escapes). Accepts CN (exactly
    /// one), O, OU, C (two letters), L, ST, STREET, DC and emailAddress (E); refuses anything else.
    package static func distinguishedName(parsing text: String) throws(Problem) -> DistinguishedName {
        var components: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "," || character == ";" {
                components.append(current)
                current = ""
            } else if character == "+" {
                throw Problem("\"\(text)\": multi-valued RDNs (+) are not supported; escape a literal + as \\+")
            } else {
                current.append(character)
            }
        }
        guard !escaped else { throw Problem("\"\(text)\" ends with a lone backslash") }
        components.append(current)
        var attributes: [RelativeDistinguishedName.Attribute] = []
        var commonNames = 0
        for component in components {
            guard let equals = component.firstIndex(of: "=") else {
                throw Problem("\"\(component.trimmingCharacters(in: .whitespaces))\" is not TYPE=value (in \"\(text)\")")
            }
            let type = component[..<equals].trimmingCharacters(in: .whitespaces)
            let value = try unescape(String(component[component.index(after: equals)...]), in: text)
            guard !value.isEmpty else { throw Problem("\(type) has an empty value (in \"\(text)\")") }
            do {
                switch type.uppercased() {
                case "CN":
                    commonNames += 1
                    attributes.append(.init(type: .RDNAttributeType.commonName, utf8String: value))
                case "O": attributes.append(.init(type: .RDNAttributeType.organizationName, utf8String: value))
                case "OU": attributes.append(.init(type: .RDNAttributeType.organizationalUnitName, utf8String: value))
                case "L": attributes.append(.init(type: .RDNAttributeType.localityName, utf8String: value))
                case "ST": attributes.append(.init(type: .RDNAttributeType.stateOrProvinceName, utf8String: value))
                case "STREET": attributes.append(.init(type: .RDNAttributeType.streetAddress, utf8String: value))
                case "C":
                    guard value.count == 2, value.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                        throw Problem("C=\(value) is not a two-letter country code (in \"\(text)\")")
                    }
                    attributes.append(try .init(type: .RDNAttributeType.countryName, printableString: value.uppercased()))
                case "DC": attributes.append(try .init(type: .RDNAttributeType.domainComponent, ia5String: value))
                case "E", "EMAILADDRESS": attributes.append(try .init(type: .RDNAttributeType.emailAddress, ia5String: value))
                default:
                    throw Problem("\"\(type)\" is not an attribute type Scepter writes (CN, O, OU, C, L, ST, STREET, DC, E) (in \"\(text)\")")
                }
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem("\(type)=\(value) cannot be encoded (\(error)) (in \"\(text)\")")
            }
        }
        guard commonNames == 1 else {
            throw Problem("\"\(text)\" must name exactly one CN (it has \(commonNames))")
        }
        // RFC 4514 writes the last RDN first.
        return DistinguishedName(attributes.reversed().map { RelativeDistinguishedName($0) })
    }

    /// An RFC 4514 attribute value without its escapes and the unescaped spaces around it.
    private static func unescape(_ raw: String, in text: String) throws(Problem) -> String {
        let trimmed = raw.drop(while: { $0 == " " })
        var value = ""
        var escaped = false
        var trailingSpaces = 0  // unescaped spaces at the end, dropped
        for character in trimmed {
            if escaped {
                value.append(String(repeating: " ", count: trailingSpaces))
                trailingSpaces = 0
                guard ",+\"\\<>;= #".contains(character) else {
                    throw Problem("a backslash escapes only one of , + \" \\ < > ; = # and space, not \"\(character)\" (in \"\(text)\")")
                }
                value.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == " " {
                trailingSpaces += 1
            } else {
                guard !"\"<>".contains(character), !(character == "#" && value.isEmpty && trailingSpaces == 0) else {
                    throw Problem("\"\(character)\" must be escaped with a backslash in a value (in \"\(text)\")")
                }
                value.append(String(repeating: " ", count: trailingSpaces))
                trailingSpaces = 0
                value.append(character)
            }
        }
        return value
    }

    /// An RSA 2048 RA certificate signed by the CA, valid 2 years (clients encrypt to RSA only).
    package static func makeRA(commonName: String, ca: Pair, now: Date = Date()) throws -> Pair {
        let caCertificate = try Certificate(pemEncoded: ca.certificatePEM)
        let caKey = try Certificate.PrivateKey(pemEncoded: ca.keyPEM)
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let key = Certificate.PrivateKey(rsa)
        let subject = try scepterName(commonName: commonName)
        let caKeyIdentifier = (try? caCertificate.extensions.subjectKeyIdentifier)??.keyIdentifier
            ?? SubjectKeyIdentifier(hash: caCertificate.publicKey).keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
            SubjectKeyIdentifier(hash: key.publicKey)
            AuthorityKeyIdentifier(keyIdentifier: caKeyIdentifier)
        }
        let isRSA = _RSA.Signing.PublicKey(caKey.publicKey) != nil
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: min(now.addingTimeInterval(2 * 365 * 86400), caCertificate.notValidAfter),
            issuer: caCertificate.subject, subject: subject,
            signatureAlgorithm: isRSA ? .sha256WithRSAEncryption : .ecdsaWithSHA256, extensions: extensions,
            issuerPrivateKey: caKey)
        return Pair(certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: rsa.pemRepresentation)
    }
}
