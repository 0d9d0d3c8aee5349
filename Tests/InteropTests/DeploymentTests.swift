import Foundation
import Testing
import ScepterTesting

/// deploy/ checked with tools nobody here wrote (Tests/Deploy/run.sh): every
/// Kubernetes overlay rendered by kubectl kustomize and validated by
/// kubernetes-validate, checkov and yamllint, the Containerfile by hadolint,
/// the alerts by promtool, the HAProxy configuration by haproxy; then the dev
/// overlay's configuration run for real, and HAProxy in front of two real
/// edges while one is stopped and one is killed. The validators live in a
/// pinned venv the script creates from PyPI on the first run.
@Suite("Deployment: Kubernetes manifests, container recipe, HAProxy", .serialized, .timeLimit(.minutes(10)))
struct DeploymentTests {
    /// kubectl renders the overlays; without it these tests fail, naming it (nothing is skipped).
    struct KubectlMissing: Error, CustomStringConvertible {
        var description: String { "kubectl is not installed: it renders deploy/k8s (kubectl kustomize); install it to run the deployment tests" }
    }

    static func run(_ mode: String) async throws -> Shell.Result {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/kubectl") }) else {
            throw KubectlMissing()
        }
        let script = DevServerProcess.packageRoot.appendingPathComponent("Tests/Deploy/run.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_BINARY"] = DevServerProcess.binary
        // On a thread of its own: each run takes tens of seconds, and the cooperative pool has two threads.
        return try await Shell.run("/bin/bash", [script, mode], environment: environment)
    }

    @Test("Overlays render; kubernetes-validate --strict, checkov, yamllint, hadolint, promtool and haproxy -c pass; the manifests' assertions hold")
    func staticChecks() async throws {
        let result = try await Self.run("check")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("== PASSED"), "\(result.stdout)\n\(result.stderr)")
    }

    @Test("The dev overlay's ConfigMap and Secrets run a control plane and two edges; devices enroll through each edge")
    func devOverlayRuns() async throws {
        try await InteropClient.ensureBuilt()
        let result = try await Self.run("dev")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("== PASSED"), "\(result.stdout)\n\(result.stderr)")
    }

    @Test("Behind HAProxy, enrollments go on while one edge is stopped (SIGTERM) and one is killed (SIGKILL)")
    func haproxyFailover() async throws {
        try await InteropClient.ensureBuilt()
        let result = try await Self.run("haproxy")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("== PASSED"), "\(result.stdout)\n\(result.stderr)")
        // The failed count, in the test log.
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("RESULT") && line.contains("failed") {
            print(line)
        }
    }
}
