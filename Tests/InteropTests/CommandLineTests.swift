import Foundation
import Testing
import ScepterTesting

/// The `scepter` command line as an operator uses it.
@Suite("scepter command line", .timeLimit(.minutes(5)))
struct CommandLineTests {
    @Test(arguments: ["--rsa", "--ecdsa"])
    func caInitWritesAVerifiableCAAndRAWithPrivateKeys(algorithm: String) async throws {
        let out = try Shell.temporaryDirectory().appendingPathComponent("pki")
        let run = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", out.path, algorithm])
        #expect(run.status == 0, "\(run.stderr)")
        for (file, mode) in [("ca.pem", 0o644), ("ca.key", 0o600), ("ra.pem", 0o644), ("ra.key", 0o600)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(file).path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == mode, "\(file)")
        }
        let verify = try await Shell.openssl("verify", "-CAfile", out.appendingPathComponent("ca.pem").path, out.appendingPathComponent("ra.pem").path)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let raKey = try await Shell.openssl("pkey", "-in", out.appendingPathComponent("ra.key").path, "-noout", "-text")
        #expect(raKey.stdout.contains("Private-Key: (2048 bit"))

        // A second run refuses to overwrite the CA.
        let again = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", out.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("refusing to overwrite"))
    }

    @Test func versionNamesOpenSSL() async throws {
        let run = try await Shell.run(DevServerProcess.binary, ["version"])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("scepter "))
        #expect(run.stdout.contains("OpenSSL 3"))
    }

    @Test func devRefusesALooseKeyNamingTheFile() async throws {
        let directory = try Shell.temporaryDirectory()
        // First run creates the development PKI; then loosen the RA key.
        let server = try await DevServerProcess.start(dataDirectory: directory)
        server.terminate()
        let key = directory.appendingPathComponent("ra.key").path
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: 0o644)], ofItemAtPath: key)
        let run = try await Shell.run(DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], timeout: .seconds(60))
        #expect(run.status != 0)
        #expect((run.stdout + run.stderr).contains("chmod 600 \(key)"))
    }

    /// SIGHUP reloads, but only once the reload services trap it; before
    /// that its default action would end the process. A first `scepter dev`
    /// writes its CA, then makes its RA key, opens and migrates its database
    /// and only then starts its services: a SIGHUP sent as soon as `ca.pem`
    /// appears lands in that window.
    @Test("A SIGHUP while dev is still starting is ignored: it starts and serves")
    func hangUpWhileStarting() async throws {
        let directory = try Shell.temporaryDirectory()
        let outcome = try await Shell.offPool { () throws -> (started: Bool, running: Bool, output: String) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: DevServerProcess.binary)
            process.arguments = ["dev", "--data-dir", directory.path, "--port", "0", "--host", "127.0.0.1"]
            let output = ChildProcessPipes.make()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try ChildProcessPipes.run(process)
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            let ca = directory.appendingPathComponent("ca.pem").path
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: ca), process.isRunning, Date() < deadline {
                usleep(1000)
            }
            kill(process.processIdentifier, SIGHUP)
            let banner = ChildOutput.read(output.fileHandleForReading, of: process) { $0.contains("Challenge:") }
            return (banner.done, process.isRunning, banner.text)
        }
        #expect(outcome.started, "no banner after the SIGHUP: \(outcome.output)")
        #expect(outcome.running)
    }

    @Test func devPreflightListsEveryProblem() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_PROFILES"] = "corp,wifi"
        environment["SCEPTER_PROFILE_CORP_INTUNE_MODE"] = "signed-challenge"
        environment["SCEPTER_PROFILE_WIFI_CERT_VALIDITY"] = "forever"
        let directory = try Shell.temporaryDirectory()
        let run = try await Shell.run(
            DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2)
        #expect(run.stderr.contains("SCEPTER_PROFILE_CORP_INTUNE_CONNECTOR_CERT_PATH"))
        #expect(run.stderr.contains("SCEPTER_PROFILE_WIFI_CHALLENGE_PASSWORD"))
        #expect(run.stderr.contains("SCEPTER_PROFILE_WIFI_CERT_VALIDITY"))
    }

    /// A CA and RA from `scepter ca init`, in a directory of their own.
    static func pki() async throws -> URL {
        let pki = try Shell.temporaryDirectory().appendingPathComponent("pki")
        let initialized = try await Shell.run(DevServerProcess.binary, ["ca", "init", "--out", pki.path])
        try #require(initialized.status == 0, "\(initialized.stderr)")
        return pki
    }

    /// An edge serving profile corp with `pki`'s RA; Redis and the control plane on port 9, where nothing listens.
    static func edgeEnvironment(pki: URL) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "SCEPTER_PROFILES": "corp", "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "a-static-challenge",
            "SCEPTER_PROFILE_CORP_RA_CERT_PATH": pki.appendingPathComponent("ra.pem").path,
            "SCEPTER_PROFILE_CORP_RA_KEY_PATH": pki.appendingPathComponent("ra.key").path,
            "SCEPTER_CONTROL_URL": "http://127.0.0.1:9", "SCEPTER_EDGE_TOKEN": String(repeating: "t", count: 32),
            "SCEPTER_REDIS_URL": "redis://127.0.0.1:9/0",
        ]
    }

    @Test("An edge whose TLS key does not belong to its certificate is refused by preflight, naming the variable")
    func mismatchedTLSKeyIsRefused() async throws {
        let tls = try await TestTLS.make()
        var environment = Self.edgeEnvironment(pki: try await Self.pki())
        environment["SCEPTER_EDGE_LISTEN"] = "127.0.0.1:0"
        environment["SCEPTER_EDGE_TLS_CERT_PATH"] = tls.serverCertificatePath
        environment["SCEPTER_EDGE_TLS_KEY_PATH"] = tls.clientKeyPath
        let run = try await Shell.run(DevServerProcess.binary, ["edge"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(
            run.stderr.contains(
                "SCEPTER_EDGE_TLS_KEY_PATH: \(tls.clientKeyPath) with \(tls.serverCertificatePath): the private key does not belong to the certificate"),
            "\(run.stderr)")
    }

    @Test("edge --check and control --check: 0 with configuration OK when the role would start, 2 with every problem, connecting to nothing")
    func checkOnly() async throws {
        let pki = try await Self.pki()
        // Nothing listens on port 9: a role that tried to reach Redis, the control plane or PostgreSQL would hang or fail.
        var edge = Self.edgeEnvironment(pki: pki)
        edge["SCEPTER_EDGE_ID"] = "edge-check"
        var run = try await Shell.run(DevServerProcess.binary, ["edge", "--check"], environment: edge, timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("scepter edge edge-check, profiles corp: configuration OK"), "\(run.stdout)")
        edge["SCEPTER_PROFILE_CORP_INTUNE_MODE"] = "signed_challenge"
        run = try await Shell.run(DevServerProcess.binary, ["edge", "--check"], environment: edge, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains(#"SCEPTER_PROFILE_CORP_INTUNE_MODE: "signed_challenge" is not one of off, signed-challenge, intune-api"#), "\(run.stderr)")

        var control = [
            "PATH": "/usr/bin:/bin", "SCEPTER_PROFILES": "corp", "SCEPTER_ISSUERS": "main",
            "SCEPTER_ISSUER_MAIN_CA_CERT_PATH": pki.appendingPathComponent("ca.pem").path,
            "SCEPTER_ISSUER_MAIN_CA_KEY_PATH": pki.appendingPathComponent("ca.key").path,
            "SCEPTER_EDGE_TOKEN": String(repeating: "t", count: 32), "SCEPTER_ADMIN_TOKENS": String(repeating: "a", count: 32),
            "SCEPTER_REDIS_URL": "redis://127.0.0.1:9/0", "SCEPTER_DATABASE_URL": "postgres://scepter@127.0.0.1:9/scepter",
        ]
        run = try await Shell.run(DevServerProcess.binary, ["control", "--check"], environment: control, timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("scepter control plane: configuration OK"), "\(run.stdout)")
        control["SCEPTER_LOG_LEVEL"] = "verbose"
        run = try await Shell.run(DevServerProcess.binary, ["control", "--check"], environment: control, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains(#"SCEPTER_LOG_LEVEL: "verbose" is not one of"#), "\(run.stderr)")
    }

    @Test("A misspelt Intune mode refuses edge --check, naming the setting it probably meant; the bare start refuses it too")
    func misspeltSecuritySettingIsRefused() async throws {
        var edge = Self.edgeEnvironment(pki: try await Self.pki())
        edge["SCEPTER_PROFILE_CORP_INTUNEMODE"] = "signed-challenge"
        let expected = "SCEPTER_PROFILE_CORP_INTUNEMODE: is not a setting Scepter reads; did you mean SCEPTER_PROFILE_CORP_INTUNE_MODE?"
        for arguments in [["edge", "--check"], ["edge"]] {
            let run = try await Shell.run(DevServerProcess.binary, arguments, environment: edge, timeout: .seconds(60))
            #expect(run.status == 2, "\(arguments): \(run.stdout)\(run.stderr)")
            #expect(run.stderr.contains(expected), "\(run.stderr)")
            #expect(!run.stdout.contains("configuration OK"))
        }
    }

    @Test("An unknown harmless variable and a variable of an unlisted profile are warnings: --check prints them and still exits 0")
    func unknownVariablesWarn() async throws {
        let pki = try await Self.pki()
        var edge = Self.edgeEnvironment(pki: pki)
        edge["SCEPTER_EDGE_ID"] = "edge-check"
        edge["SCEPTER_COLOUR"] = "blue"
        edge["SCEPTER_PROFILE_LAB_CHALLENGE_PASSWORD"] = "lab-challenge"
        // Test harness variables are neither.
        edge["SCEPTER_TEST_REDIS_URL"] = "redis://127.0.0.1:9/0"
        let run = try await Shell.run(DevServerProcess.binary, ["edge", "--check"], environment: edge, timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("scepter edge edge-check, profiles corp: configuration OK (2 warnings above)"), "\(run.stdout)")
        #expect(run.stderr.contains("warning: SCEPTER_COLOUR is not a setting Scepter reads"), "\(run.stderr)")
        #expect(
            run.stderr.contains("warning: SCEPTER_PROFILE_LAB_CHALLENGE_PASSWORD is not read: profile lab is not in SCEPTER_PROFILES (corp)"),
            "\(run.stderr)")
        #expect(!run.stderr.contains("SCEPTER_TEST_REDIS_URL"), "\(run.stderr)")
        #expect(!run.stderr.contains("lab-challenge"), "a warning quoted a value: \(run.stderr)")
    }

    @Test("scepter dev refuses a misspelt token variable and logs a variable of an unlisted profile")
    func devReviewsItsVariables() async throws {
        let directory = try Shell.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_ADMIN_TOKENZ"] = String(repeating: "a", count: 32)
        let run = try await Shell.run(
            DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("SCEPTER_ADMIN_TOKENZ: is not a setting Scepter reads; did you mean SCEPTER_ADMIN_TOKENS?"), "\(run.stderr)")

        let log = directory.appendingPathComponent("dev.log")
        let server = try await DevServerProcess.start(
            environment: ["SCEPTER_PROFILE_DEFAULT_INTUNE_MODE": "signed-challenge", "SCEPTER_LOG_LEVEL": "warning"], standardErrorFile: log)
        server.terminate()
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("SCEPTER_PROFILE_DEFAULT_INTUNE_MODE is not read: profile default is not in SCEPTER_PROFILES"), "\(text)")
    }
}
