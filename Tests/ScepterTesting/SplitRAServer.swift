import Foundation

/// A `scepter dev` whose profile `ndes` has its RA split in two, as NDES
/// has it: `scepter ca init` makes the issuing CA, `scepter ca ra --split` a
/// signing certificate (digitalSignature only) and the certificate devices
/// encrypt to (keyEncipherment only). Profile `mixed` gives only the
/// encryption pair, beside the development RA (digitalSignature and
/// keyEncipherment), which signs. The built-in `default` profile keeps the
/// development RA, one certificate for both.
public struct SplitRAServer: Sendable {
    public let server: DevServerProcess
    /// The issuing CA of profile `ndes`, PEM.
    public let caCertificatePath: String
    public let challenge = "NdesStyleChallenge2026"
    public var url: String { server.scepURL + "/ndes" }
    public static let raName = "Example SCEP RA"

    public static func start(in work: URL) async throws -> SplitRAServer {
        let ca = work.appendingPathComponent("ca").path
        let ra = work.appendingPathComponent("ra").path
        for arguments in [
            ["ca", "init", "--out", ca, "--rsa2048", "--ca-name", "Example Device CA"],
            ["ca", "ra", "--split", "--out", ra, "--ca-cert", ca + "/ca.pem", "--ca-key", ca + "/ca.key", "--ra-name", raName],
        ] {
            let run = try await Shell.run(DevServerProcess.binary, arguments)
            guard run.status == 0 else {
                throw DevServerProcess.StartError(description: "scepter \(arguments.prefix(2).joined(separator: " ")) failed: \(run.stderr)")
            }
        }
        let server = try await DevServerProcess.start(environment: [
            "SCEPTER_ISSUERS": "corp",
            "SCEPTER_ISSUER_CORP_CA_CERT_PATH": ca + "/ca.pem",
            "SCEPTER_ISSUER_CORP_CA_KEY_PATH": ca + "/ca.key",
            "SCEPTER_PROFILES": "ndes,mixed",
            "SCEPTER_PROFILE_MIXED_CHALLENGE_PASSWORD": "NdesStyleChallenge2026",
            "SCEPTER_PROFILE_MIXED_RA_ENCRYPTION_CERT_PATH": ra + "/ra-encryption.pem",
            "SCEPTER_PROFILE_MIXED_RA_ENCRYPTION_KEY_PATH": ra + "/ra-encryption.key",
            "SCEPTER_PROFILE_NDES_ISSUER": "corp",
            "SCEPTER_PROFILE_NDES_CHALLENGE_PASSWORD": "NdesStyleChallenge2026",
            // PyScep's CSRs ask for both (csrbuilder's default); the profile grants what it lists.
            "SCEPTER_PROFILE_NDES_ALLOWED_EKUS": "clientAuth,serverAuth",
            "SCEPTER_PROFILE_NDES_RA_CERT_PATH": ra + "/ra.pem",
            "SCEPTER_PROFILE_NDES_RA_KEY_PATH": ra + "/ra.key",
            "SCEPTER_PROFILE_NDES_RA_ENCRYPTION_CERT_PATH": ra + "/ra-encryption.pem",
            "SCEPTER_PROFILE_NDES_RA_ENCRYPTION_KEY_PATH": ra + "/ra-encryption.key",
        ])
        return SplitRAServer(server: server, caCertificatePath: ca + "/ca.pem")
    }

    /// The dev server's audit records of PKIOperations, newest first.
    public func audit() async throws -> [[String: Any]] {
        let (status, body) = try await server.request(
            "/api/v1/audit?operation=PKIOperation&limit=100", headers: ["Authorization": "Bearer \(try server.adminToken)"])
        guard status == 200, let page = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let items = page["items"] as? [[String: Any]]
        else { throw DevServerProcess.StartError(description: "GET /api/v1/audit answered \(status)") }
        return items
    }
}
