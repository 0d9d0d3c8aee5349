import ArgumentParser
import Foundation
import ScepterControl
import ScepterProtocol
import X509

struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca", abstract: "Certificate authority tools.", subcommands: [Init.self, SigningRequest.self, RA.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a root CA and an RA pair for a profile (keys are written 0600).")

        @Option(help: "Directory to write ca.pem, ca.key, ra.pem and ra.key into (created if missing).")
        var out: String

        @Flag(help: "CA key algorithm: --rsa (RSA 3072, the default), --rsa2048 or --ecdsa (P-256). The RA is always RSA 2048.")
        var algorithm: PKIBootstrap.KeyAlgorithm = .rsa

        @Option(help: "Common name of the CA; the subject is O=Scepter, CN=NAME (default: Scepter Root CA).")
        var caName: String?

        @Option(help: "Subject of the CA instead of --ca-name, RFC 4514, e.g. \"CN=Example Device CA,O=Example Corp,C=US\".")
        var subject: String?

        @Option(help: "Common name of the RA.")
        var raName = "Scepter SCEP RA"

        func validate() throws {
            if caName != nil, subject != nil { throw ValidationError("give --ca-name or --subject, not both") }
        }

        func run() throws {
            let name = try CACommand.subject(caName: caName ?? "Scepter Root CA", subject: subject)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try CACommand.refuseExisting(["ca.pem", "ca.key", "ra.pem", "ra.key"], in: out, what: "a CA")
            let ca = try PKIBootstrap.makeRootCA(subject: name, algorithm: algorithm)
            let ra = try PKIBootstrap.makeRA(commonName: raName, ca: ca)
            try SecretFiles.create(ca.keyPEM, at: "\(out)/ca.key", mode: 0o600)
            try SecretFiles.create(ca.certificatePEM, at: "\(out)/ca.pem", mode: 0o644)
            try SecretFiles.create(ra.keyPEM, at: "\(out)/ra.key", mode: 0o600)
            try SecretFiles.create(ra.certificatePEM, at: "\(out)/ra.pem", mode: 0o644)
            print("wrote \(out)/ca.pem, \(out)/ca.key (0600), \(out)/ra.pem, \(out)/ra.key (0600)")
            print(CACommand.variables(caCertificate: "\(out)/ca.pem", caKey: "\(out)/ca.key", chain: nil, ra: out))
        }
    }

    /// The CA's subject: `--subject` parsed strictly, or `O=Scepter, CN=<caName>`.
    static func subject(caName: String, subject: String?) throws -> DistinguishedName {
        guard let subject else { return try PKIBootstrap.scepterName(commonName: caName) }
        do {
            return try PKIBootstrap.distinguishedName(parsing: subject)
        } catch {
            throw ValidationError("--subject: \(error.message)")
        }
    }

    /// Refuses before writing anything when one of `files` is already in `directory`.
    static func refuseExisting(_ files: [String], in directory: String, what: String) throws {
        for file in files where FileManager.default.fileExists(atPath: "\(directory)/\(file)") {
            throw ValidationError("\(directory)/\(file) already exists; refusing to overwrite \(what)")
        }
    }

    /// The variables that point an issuer and a profile at the files, as `ca init` and `ca ra` print them.
    static func variables(caCertificate: String, caKey: String, chain: String?, ra directory: String) -> String {
        var lines = [
            "configure an issuer and a profile with them, e.g.:",
            "  SCEPTER_ISSUER_<NAME>_CA_CERT_PATH=\(caCertificate)",
            "  SCEPTER_ISSUER_<NAME>_CA_KEY_PATH=\(caKey)",
        ]
        if let chain { lines.append("  SCEPTER_ISSUER_<NAME>_CHAIN_PATH=\(chain)") }
        lines.append("  SCEPTER_PROFILE_<NAME>_RA_CERT_PATH=\(directory)/ra.pem")
        lines.append("  SCEPTER_PROFILE_<NAME>_RA_KEY_PATH=\(directory)/ra.key")
        return lines.joined(separator: "\n")
    }
}

extension PKIBootstrap.KeyAlgorithm: EnumerableFlag {}
