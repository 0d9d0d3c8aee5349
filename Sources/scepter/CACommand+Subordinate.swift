import ArgumentParser
import Foundation
import ScepterControl
import ScepterProtocol
import SwiftASN1
import X509

/// `scepter ca csr` and `scepter ca ra`: an issuing CA that an enterprise CA signs.
extension CACommand {
    struct SigningRequest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csr",
            abstract: "Create a CA key and a request (CSR) for your enterprise CA to sign as a subordinate CA (the key is written 0600).")

        @Option(help: "Directory to write ca.key and ca.csr into (created if missing).")
        var out: String

        @Flag(help: "CA key algorithm: --rsa (RSA 3072, the default), --rsa2048 or --ecdsa (P-256).")
        var algorithm: PKIBootstrap.KeyAlgorithm = .rsa

        @Option(help: "Common name of the CA; the subject is O=Scepter, CN=NAME.")
        var caName: String?

        @Option(help: "Subject of the CA, RFC 4514, e.g. \"CN=Example Device CA,O=Example Corp,C=US\".")
        var subject: String?

        func validate() throws {
            switch (caName, subject) {
            case (nil, nil): throw ValidationError("give --ca-name NAME or --subject DN")
            case (.some, .some): throw ValidationError("give --ca-name or --subject, not both")
            default: break
            }
        }

        func run() throws {
            let name = try CACommand.subject(caName: caName ?? "", subject: subject)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try CACommand.refuseExisting(["ca.key", "ca.csr", "ca.pem"], in: out, what: "a CA")
            let request = try PKIBootstrap.makeCASigningRequest(subject: name, algorithm: algorithm)
            try SecretFiles.create(request.keyPEM, at: "\(out)/ca.key", mode: 0o600)
            try SecretFiles.create(request.requestPEM, at: "\(out)/ca.csr", mode: 0o644)
            print("""
                wrote \(out)/ca.key (0600) and \(out)/ca.csr for \(name)
                it asks for basicConstraints critical CA:TRUE, pathlen 0 and keyUsage critical digitalSignature, keyCertSign, cRLSign
                next:
                  1. have your enterprise CA sign \(out)/ca.csr as a subordinate CA and save the certificate, PEM, as \(out)/ca.pem:
                       AD CS:   certreq -submit -attrib "CertificateTemplate:SubCA" ca.csr ca.cer
                                openssl x509 -in ca.cer -out \(out)/ca.pem     (add -inform DER if ca.cer is binary)
                       OpenSSL: openssl x509 -req -in \(out)/ca.csr -CA root.pem -CAkey root.key -copy_extensions copy -days 1825 -out \(out)/ca.pem
                  2. save the certificates above it (the enterprise CAs, PEM, nearest first) as \(out)/chain.pem, then make the RA:
                       scepter ca ra --out \(out) --ca-cert \(out)/ca.pem --ca-key \(out)/ca.key --chain \(out)/chain.pem
                """)
        }
    }

    struct RA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ra",
            abstract: "Check a CA certificate and its key (e.g. a subordinate CA your enterprise CA signed) and create an RA pair signed by it.")

        @Option(help: "Directory to write ra.pem and ra.key into (created if missing).")
        var out: String

        @Option(help: "The CA certificate, PEM.")
        var caCert: String

        @Option(help: "The CA's private key, unencrypted PEM, mode 0600.")
        var caKey: String

        @Option(help: "The certificates above the CA (PEM, nearest first, up to the root), checked and printed as the issuer's CHAIN_PATH.")
        var chain: String?

        @Option(help: "Common name of the RA.")
        var raName = "Scepter SCEP RA"

        @Flag(help: "Two RA pairs, as NDES has them: ra.pem signs CertReps (digitalSignature), ra-encryption.pem is what devices encrypt to (keyEncipherment).")
        var split = false

        func run() throws {
            let ca: PKIBootstrap.Pair
            var chainPEM: String?
            do throws(SecretFiles.Problem) {
                ca = PKIBootstrap.Pair(
                    certificatePEM: try SecretFiles.readPublic(at: caCert, setting: "--ca-cert"),
                    keyPEM: try SecretFiles.readSecret(at: caKey, setting: "--ca-key"))
                if let chain { chainPEM = try SecretFiles.readPublic(at: chain, setting: "--chain") }
            } catch {
                throw ValidationError(error.description)
            }
            let warnings: [String]
            do throws(PKIBootstrap.Problem) {
                warnings = try PKIBootstrap.checkIssuingCA(ca, certificateName: "--ca-cert \(caCert)", keyName: "--ca-key \(caKey)")
                if let chain, let chainPEM { try PKIBootstrap.checkChain(chainPEM, above: ca.certificatePEM, chainName: "--chain \(chain)") }
            } catch {
                throw ValidationError(error.message)
            }
            for warning in warnings { StandardError.writeLine("warning: \(warning)") }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try CACommand.refuseExisting(CACommand.raFiles(split: split), in: out, what: "an RA")
            let written = try CACommand.writeRA(commonName: raName, ca: ca, split: split, in: out)
            let certificate = try Certificate(pemEncoded: ca.certificatePEM)
            let selfIssued = certificate.subject == certificate.issuer
            print("wrote \(written), signed by \(certificate.subject)")
            print(CACommand.variables(
                caCertificate: caCert, caKey: caKey,
                chain: chain ?? (selfIssued ? nil : "<the certificates above \(caCert), PEM, nearest first, up to \(certificate.issuer)'s root>"),
                ra: out, split: split))
        }
    }
}
