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
            try CACommand.refuseExisting(["ca.pem", "ca.key"] + CACommand.raFiles(split: false), in: out, what: "a CA")
            let ca = try PKIBootstrap.makeRootCA(subject: name, algorithm: algorithm)
            try SecretFiles.create(ca.keyPEM, at: "\(out)/ca.key", mode: 0o600)
            try SecretFiles.create(ca.certificatePEM, at: "\(out)/ca.pem", mode: 0o644)
            let written = try CACommand.writeRA(commonName: raName, ca: ca, split: false, in: out)
            print("wrote \(out)/ca.pem, \(out)/ca.key (0600), \(written)")
            print(CACommand.variables(caCertificate: "\(out)/ca.pem", caKey: "\(out)/ca.key", chain: nil, ra: out, split: false))
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

    /// The RA files `ca init` and `ca ra` write into `directory`: `ra.pem` and
    /// `ra.key`, and with `split` a second pair, `ra-encryption.pem` and
    /// `ra-encryption.key`, that devices encrypt to while the first signs
    /// (digitalSignature only, keyEncipherment only). Returns what was written.
    static func writeRA(commonName: String, ca: PKIBootstrap.Pair, split: Bool, in directory: String) throws -> String {
        var written: [String] = []
        for file in raLayout(split: split) {
            let suffix = file.roles == [.encryption] ? " (encryption)" : ""
            let pair = try PKIBootstrap.makeRA(commonName: commonName + suffix, ca: ca, roles: file.roles)
            try SecretFiles.create(pair.keyPEM, at: "\(directory)/\(file.name).key", mode: 0o600)
            try SecretFiles.create(pair.certificatePEM, at: "\(directory)/\(file.name).pem", mode: 0o644)
            written += ["\(directory)/\(file.name).pem", "\(directory)/\(file.name).key (0600)"]
        }
        return written.joined(separator: ", ")
    }

    /// Each RA pair `writeRA` writes: its file name (`.pem` and `.key`) and what it is for.
    private static func raLayout(split: Bool) -> [(name: String, roles: [RAIdentity.Role])] {
        split ? [("ra", [.signing]), ("ra-encryption", [.encryption])] : [("ra", [.signing, .encryption])]
    }

    /// The names of the RA files `writeRA` writes.
    static func raFiles(split: Bool) -> [String] {
        raLayout(split: split).flatMap { [$0.name + ".pem", $0.name + ".key"] }
    }

    /// The variables that point an issuer and a profile at the files, as `ca init` and `ca ra` print them.
    static func variables(caCertificate: String, caKey: String, chain: String?, ra directory: String, split: Bool) -> String {
        var lines = [
            "configure an issuer and a profile with them, e.g.:",
            "  SCEPTER_ISSUER_<NAME>_CA_CERT_PATH=\(caCertificate)",
            "  SCEPTER_ISSUER_<NAME>_CA_KEY_PATH=\(caKey)",
        ]
        if let chain { lines.append("  SCEPTER_ISSUER_<NAME>_CHAIN_PATH=\(chain)") }
        lines.append("  SCEPTER_PROFILE_<NAME>_RA_CERT_PATH=\(directory)/ra.pem")
        lines.append("  SCEPTER_PROFILE_<NAME>_RA_KEY_PATH=\(directory)/ra.key")
        if split {
            lines.append("  SCEPTER_PROFILE_<NAME>_RA_ENCRYPTION_CERT_PATH=\(directory)/ra-encryption.pem")
            lines.append("  SCEPTER_PROFILE_<NAME>_RA_ENCRYPTION_KEY_PATH=\(directory)/ra-encryption.key")
        }
        return lines.joined(separator: "\n")
    }
}

extension PKIBootstrap.KeyAlgorithm: EnumerableFlag {}
