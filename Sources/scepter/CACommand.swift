import ArgumentParser
import Foundation
import ScepterControl
import ScepterProtocol

struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca", abstract: "Certificate authority tools.", subcommands: [Init.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a root CA and an RA pair for a profile (keys are written 0600).")

        @Option(help: "Directory to write ca.pem, ca.key, ra.pem and ra.key into (created if missing).")
        var out: String

        @Flag(help: "CA key algorithm: --rsa (RSA 3072, the default), --rsa2048 or --ecdsa (P-256). The RA is always RSA 2048.")
        var algorithm: PKIBootstrap.KeyAlgorithm = .rsa

        @Option(help: "Common name of the CA.")
        var caName = "Scepter Root CA"

        @Option(help: "Common name of the RA.")
        var raName = "Scepter SCEP RA"

        func run() throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for file in ["ca.pem", "ca.key", "ra.pem", "ra.key"] where FileManager.default.fileExists(atPath: "\(out)/\(file)") {
                throw ValidationError("\(out)/\(file) already exists; refusing to overwrite a CA")
            }
            let ca = try PKIBootstrap.makeRootCA(commonName: caName, algorithm: algorithm)
            let ra = try PKIBootstrap.makeRA(commonName: raName, ca: ca)
            try SecretFiles.create(ca.keyPEM, at: "\(out)/ca.key", mode: 0o600)
            try SecretFiles.create(ca.certificatePEM, at: "\(out)/ca.pem", mode: 0o644)
            try SecretFiles.create(ra.keyPEM, at: "\(out)/ra.key", mode: 0o600)
            try SecretFiles.create(ra.certificatePEM, at: "\(out)/ra.pem", mode: 0o644)
            print("""
                wrote \(out)/ca.pem, \(out)/ca.key (0600), \(out)/ra.pem, \(out)/ra.key (0600)
                configure an issuer and a profile with them, e.g.:
                  SCEPTER_ISSUER_<NAME>_CA_CERT_PATH=\(out)/ca.pem
                  SCEPTER_ISSUER_<NAME>_CA_KEY_PATH=\(out)/ca.key
                  SCEPTER_PROFILE_<NAME>_RA_CERT_PATH=\(out)/ra.pem
                  SCEPTER_PROFILE_<NAME>_RA_KEY_PATH=\(out)/ra.key
                """)
        }
    }
}

extension PKIBootstrap.KeyAlgorithm: EnumerableFlag {}
