import Foundation

/// micromdm's SCEP client from Debian (Tests/Interop/scepclient), run as a process.
public enum InteropClient {
    public static var binary: String {
        DevServerProcess.packageRoot.appendingPathComponent("Tests/Interop/.bin/scepclient").path
    }

    /// Builds the client if needed (scripts/test builds it up front).
    public static func ensureBuilt() async throws {
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Interop/build.sh").path
        let result = try await Shell.run("/bin/sh", [script, binary])
        guard result.status == 0 else {
            throw DevServerProcess.StartError(description: "building the interop client failed: \(result.stderr)")
        }
    }

    /// The client's one-line JSON report.
    public struct Report: Decodable, Sendable {
        public var httpStatus: Int
        public var pkiStatus: String?
        public var failInfo: String?
        public var transactionID: String?
        public var serial: String?
        public var subject: String?
        public var recipientNonceOK: Bool?
        public var signatureOK: Bool?
        public var transactionIDOK: Bool?
        public var body: String?
        public var error: String?
    }

    public struct Run: Sendable {
        public var status: Int32
        public var report: Report?
        public var stderr: String
    }

    /// Runs the client with `arguments` and decodes its report.
    public static func run(_ arguments: [String]) async throws -> Run {
        let result = try await Shell.run(binary, arguments)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8))
        return Run(status: result.status, report: report, stderr: result.stderr)
    }
}
