import Foundation
import ScepterControl
import ScepterProtocol

/// The development PKI and secrets under the data directory, created on first run.
package struct DevelopmentFiles: Sendable {
    package var directory: String

    package init(directory: String) { self.directory = directory }

    package var caCertificatePath: String { "\(directory)/ca.pem" }
    package var caKeyPath: String { "\(directory)/ca.key" }
    package var raCertificatePath: String { "\(directory)/ra.pem" }
    package var raKeyPath: String { "\(directory)/ra.key" }
    package var challengePath: String { "\(directory)/challenge" }
    package var adminTokenPath: String { "\(directory)/admin-token" }
    package var databasePath: String { "\(directory)/scepter.db" }

    package static func prepare(in directory: String) throws -> DevelopmentFiles {
        let files = DevelopmentFiles(directory: directory)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: NSNumber(value: 0o700)])
        let manager = FileManager.default
        // A key whose certificate is gone (a partial restore): say which file to restore, not that the key exists.
        for (certificate, key, what, remedy) in [
            (files.caCertificatePath, files.caKeyPath, "dev CA", "restore it from the backup that holds ca.key (docs/storage.md, Backups), or start in an empty data directory"),
            (files.raCertificatePath, files.raKeyPath, "dev RA", "restore it from your backup, or delete ra.key too for a new RA (devices fetch it with GetCACert)"),
        ] where !manager.fileExists(atPath: certificate) && manager.fileExists(atPath: key) {
            throw SecretFiles.Problem(setting: "\(what) certificate", message: "\(certificate) is missing but \(key) exists: \(remedy)")
        }
        if !manager.fileExists(atPath: files.caCertificatePath) {
            let ca = try PKIBootstrap.makeRootCA(commonName: "Scepter Development CA", algorithm: .rsa)
            try SecretFiles.create(ca.keyPEM, at: files.caKeyPath, mode: 0o600)
            try SecretFiles.create(ca.certificatePEM, at: files.caCertificatePath, mode: 0o644)
        }
        if !manager.fileExists(atPath: files.raCertificatePath) {
            let ca = PKIBootstrap.Pair(
                certificatePEM: try SecretFiles.readPublic(at: files.caCertificatePath, setting: "dev CA"),
                keyPEM: try SecretFiles.readSecret(at: files.caKeyPath, setting: "dev CA"))
            let ra = try PKIBootstrap.makeRA(commonName: "Scepter Development RA", ca: ca)
            try SecretFiles.create(ra.keyPEM, at: files.raKeyPath, mode: 0o600)
            try SecretFiles.create(ra.certificatePEM, at: files.raCertificatePath, mode: 0o644)
        }
        if !manager.fileExists(atPath: files.challengePath) {
            try SecretFiles.create(randomChallenge(length: 24) + "\n", at: files.challengePath, mode: 0o600)
        }
        if !manager.fileExists(atPath: files.adminTokenPath) {
            try SecretFiles.create(randomToken(bytes: 24) + "\n", at: files.adminTokenPath, mode: 0o600)
        }
        return files
    }

    /// `length` random letters and digits from the system CSPRNG (about 5.95
    /// bits each). A challenge password travels in the CSR, and certmonger,
    /// like other clients that encode it as a PrintableString, silently
    /// leaves out one with a character PrintableString lacks (`_`, `@`, …).
    package static func randomChallenge(length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var characters: [Character] = []
        while characters.count < length {
            // 62 × 4 = 248: bytes from 248 up are dropped, so every character is equally likely.
            for byte in SystemRandom.bytes(length) where byte < 248 && characters.count < length {
                characters.append(alphabet[Int(byte) % alphabet.count])
            }
        }
        return String(characters)
    }

    /// URL-safe random text from the system CSPRNG.
    package static func randomToken(bytes: Int) -> String {
        Base64.encode(SystemRandom.bytes(bytes)).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
