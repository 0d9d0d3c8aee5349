import Foundation

/// Reading and writing key files with the permissions a CA needs.
public enum SecretFiles {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads a private-key file, refusing one that group or others can read or write.
    public static func readPrivateKey(at path: String, setting: String) throws(Problem) -> String {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw Problem(description: "\(setting): cannot read \(path) (\(error.localizedDescription))")
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw Problem(
                description: "\(setting): private key \(path) has mode \(String(mode, radix: 8)); it must be 0600 (chmod 600 \(path))")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "\(setting): cannot read \(path)")
        }
        return text
    }

    /// Reads a public file (certificate, bundle).
    public static func readPublic(at path: String, setting: String) throws(Problem) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "\(setting): cannot read \(path)")
        }
        return text
    }

    /// Writes `text` with `mode` (0600 for secrets), refusing to replace an existing file.
    public static func create(_ text: String, at path: String, mode: Int) throws(Problem) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Problem(description: "\(path) already exists; refusing to overwrite it")
        }
        guard FileManager.default.createFile(
            atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: NSNumber(value: mode)])
        else {
            throw Problem(description: "cannot create \(path)")
        }
    }
}
