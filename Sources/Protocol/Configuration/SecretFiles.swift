import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing key files with the permissions a CA needs.
public enum SecretFiles {
    public struct Problem: Error, CustomStringConvertible {
        /// The setting (variable) at fault.
        public var setting: String
        public var message: String

        public var description: String { "\(setting): \(message)" }

        public init(setting: String, message: String) {
            self.setting = setting
            self.message = message
        }
    }

    /// Reads a secret file (a private key, a challenge, a token), refusing
    /// one that group or others can read or write. Symbolic links are followed (Kubernetes mounts secrets as
    /// links); the mode checked is the file's that is actually read.
    public static func readSecret(at path: String, setting: String) throws(Problem) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(setting: setting, message: "cannot open \(path): \(openFailure(path))")
        }
        defer { try? handle.close() }
        var status = stat()
        guard fstat(handle.fileDescriptor, &status) == 0 else {
            throw Problem(setting: setting, message: "cannot stat \(path)")
        }
        let mode = Int(status.st_mode) & 0o777
        if mode & 0o077 != 0 {
            throw Problem(
                setting: setting,
                message: "\(path) has mode \(String(mode, radix: 8)); it must be readable by its owner only (chmod 600 \(path))")
        }
        // readToEnd() is nil for an empty file: it reads as "", and each caller refuses that for its secret.
        guard let data = try? handle.readToEnd() ?? Data(), let text = String(data: data, encoding: .utf8) else {
            throw Problem(setting: setting, message: "cannot read \(path)")
        }
        return text
    }

    /// Reads a public file (certificate, bundle).
    public static func readPublic(at path: String, setting: String) throws(Problem) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(setting: setting, message: "cannot read \(path): \(openFailure(path))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Problem(setting: setting, message: "\(path) is not text (a PEM file is; convert DER with openssl x509 -inform DER -out FILE.pem)")
        }
        return text
    }

    /// Why `path` does not open for reading, as the system says it (no such file, permission denied, a directory).
    private static func openFailure(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor < 0 else {
            close(descriptor)
            var status = stat()
            return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR ? "it is a directory" : "it opens but reading it failed (a special file, or an I/O error)"
        }
        return String(cString: strerror(errno))
    }

    /// Writes `text` with `mode` (0600 for secrets), refusing to replace an
    /// existing file (O_EXCL: no window between the check and the create).
    public static func create(_ text: String, at path: String, mode: Int) throws(Problem) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode))
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "already exists; refusing to overwrite it" : "cannot create the file (errno \(errno))"
            throw Problem(setting: path, message: reason)
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        } catch {
            throw Problem(setting: path, message: "cannot write the file (\(error.localizedDescription))")
        }
    }
}
