import Foundation

/// PyScep, a Python SCEP client from PyPI (Tests/PyScep: `venv.sh` makes its
/// venv, `pyscep_client.py` drives it), run as a process.
public enum PyScep {
    static var directory: URL { DevServerProcess.packageRoot.appendingPathComponent("Tests/PyScep") }

    /// The venv's python, made on first use (PyPI).
    public static func python() async throws -> String {
        let result = try await Shell.run("/bin/bash", [directory.appendingPathComponent("venv.sh").path])
        let python = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard result.status == 0, python.hasPrefix("/") else {
            throw DevServerProcess.StartError(description: "making PyScep's venv failed: \(result.stderr)")
        }
        return python
    }

    /// What `pyscep_client.py` printed: the pkiStatus PyScep read (after
    /// verifying the CertRep's signature), and which certificates it chose.
    public struct Report: Decodable, Sendable {
        public var pkiStatus: String?
        public var failInfo: Int?
        public var transactionID: String?
        public var serial: String?
        public var caCertificates: Int?
        /// The subject of the certificate PyScep encrypted to.
        public var recipient: String?
        /// The subject of the certificate PyScep verified the CertRep with.
        public var signer: String?
        public var capabilities: [String]?
    }

    public struct Run: Sendable {
        public var status: Int32
        public var report: Report?
        public var stderr: String
    }

    /// Runs `pyscep_client.py` with `arguments` (a command, then its operands), bounded to 60 s.
    public static func run(python: String, _ arguments: [String]) async throws -> Run {
        let script = directory.appendingPathComponent("pyscep_client.py").path
        let result = try await Shell.run(python, ["-W", "ignore", script] + arguments, timeout: .seconds(60))
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return Run(status: result.status, report: try? JSONDecoder().decode(Report.self, from: Data(line.utf8)), stderr: result.stderr)
    }
}
