import Foundation

/// A directory under the system temporary folder, removed when the last reference goes.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    public init(prefix: String = "scepter-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// The absolute path of `name` inside the directory (the file need not exist).
    public func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) throws -> String {
        let path = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes `text` (UTF-8) to `name` and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        try write(Array(text.utf8), to: name)
    }
}

/// Runs `/usr/bin/openssl` as an independent check of what Scepter produces.
public enum OpenSSLCommandLine {
    public struct Output: Sendable, CustomStringConvertible {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String

        public var succeeded: Bool { status == 0 }

        public var description: String {
            "openssl exited \(status)\nstdout: \(standardOutput)\nstderr: \(standardError)"
        }
    }

    public static let executable = "/usr/bin/openssl"

    /// Runs `openssl arguments…` with `directory` as the working directory, waiting
    /// for it without blocking a cooperative thread.
    public static func run(_ arguments: [String], in directory: TemporaryDirectory) async throws -> Output {
        let outPath = directory.path("openssl-\(UUID().uuidString).out")
        let errPath = directory.path("openssl-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try ChildProcessPipes.run(process)
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Output(
            status: status,
            standardOutput: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}
