import Foundation
import Testing
import ScepterTesting

/// The web console in headless Chromium, driven by Selenium
/// (Tests/Console/run.sh): the script starts a `scepter dev` of its own,
/// enrolls with micromdm's client, and clicks through every page as an admin
/// and as a viewer. It needs Debian's chromium and chromium-driver, and
/// PyPI for its venv on the first run.
@Suite("Interop: the web console in a real browser", .timeLimit(.minutes(10)))
struct ConsoleBrowserTests {
    @Test("Sign-in, overview, Intune and trust reload, search, detail and revocation (OCSP agrees), audit and CSV export, viewer, narrow screen, sign-out")
    func console() async throws {
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Console/run.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_BINARY"] = DevServerProcess.binary
        // On a thread of its own: the run takes tens of seconds, and the cooperative pool has two threads.
        let result = try await Shell.run("/bin/bash", [script], environment: environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("== PASSED"), "\(result.stdout)\n\(result.stderr)")
    }
}
