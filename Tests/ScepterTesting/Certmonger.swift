import Foundation

/// certmonger (Debian's certmonger: the daemon, `getcert` and its
/// `scep-submit` helper) driven by a script of `getcert` commands, each run
/// with a certmonger and a D-Bus session bus of its own and its state in the
/// test's directory.
public enum Certmonger {
    public static let tools = ["/usr/sbin/certmonger", "/usr/bin/getcert", "/usr/lib/certmonger/scep-submit", "/usr/bin/dbus-daemon"]

    public struct Missing: Error, CustomStringConvertible {
        public var description: String { "certmonger or D-Bus is not installed: run scripts/install-deps --test (certmonger, dbus-daemon)" }
    }

    public struct Failed: Error, CustomStringConvertible {
        public var description: String
    }

    public static func requireInstalled() throws {
        guard tools.allSatisfy(FileManager.default.isExecutableFile(atPath:)) else { throw Missing() }
    }

    /// Runs `commands` (bash, `getcert -s` on the session bus) beside a
    /// certmonger of their own that exits when they do: the commands' output
    /// and certmonger's debug log.
    ///
    /// The bus is started here and ended with SIGKILL, not left to
    /// `dbus-run-session`: a child of the test process inherits its blocked
    /// signals, so the bus daemon would ignore SIGTERM and outlive the test,
    /// holding its output open.
    public static func run(_ commands: String, in work: URL) async throws -> (output: String, log: String) {
        let state = work.appendingPathComponent("certmonger").path
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = work.path
        for (variable, directory) in [
            ("CERTMONGER_REQUESTS_DIR", "requests"), ("CERTMONGER_CAS_DIR", "cas"), ("CERTMONGER_LOCAL_CA_DIR", "local"),
            ("CERTMONGER_CONFIG_DIR", "config"), ("CERTMONGER_TMPDIR", "tmp"),
        ] {
            try FileManager.default.createDirectory(atPath: "\(state)/\(directory)", withIntermediateDirectories: true)
            environment[variable] = "\(state)/\(directory)"
        }
        let run = UUID().uuidString
        let script = work.appendingPathComponent("commands-\(run).sh").path
        let output = work.appendingPathComponent("output-\(run).txt").path
        let log = work.appendingPathComponent("certmonger-\(run).log").path
        try ("set -u\n" + commands).write(toFile: script, atomically: true, encoding: .utf8)
        let wrapper = """
            set -u
            exec </dev/null >'\(output)' 2>'\(log)'
            dbus-daemon --session --fork --print-address=3 --print-pid=4 3>'\(state)/bus.address' 4>'\(state)/bus.pid'
            trap 'kill -KILL $(cat "\(state)/bus.pid")' EXIT
            export DBUS_SESSION_BUS_ADDRESS=$(head -n 1 '\(state)/bus.address')
            timeout -s KILL 150 /usr/sbin/certmonger -s -n -d 2 -c '/bin/bash \(script)'
            """
        let wrapped = try await Shell.run("/bin/bash", ["-c", wrapper], environment: environment, timeout: .seconds(170))
        guard wrapped.status == 0 else {
            throw Failed(description: "certmonger's run failed (\(wrapped.status)): \(wrapped.stderr)")
        }
        return (try String(contentsOfFile: output, encoding: .utf8), try String(contentsOfFile: log, encoding: .utf8))
    }

    /// Adds `url` as SCEP CA `name`; certmonger fetches GetCACaps and GetCACert itself.
    public static func addCA(_ url: String, name: String = "Scepter") -> String { "getcert add-scep-ca -s -c \(name) -u \(url)\n" }

    /// Waits (up to 60 s) until `certificate` differs from `previous`: under
    /// load `getcert resubmit -w` and `rekey -w` can return before certmonger
    /// has even begun, so the script waits for the new certificate itself.
    public static func awaitNewCertificate(_ certificate: String, unlike previous: String) -> String {
        "for attempt in $(seq 60); do cmp -s \(certificate) \(previous) || break; sleep 1; done\n"
    }

    /// `getcert request` from CA `Scepter` for CN=`name`.example.com, key and
    /// certificate as `name`.key and `name`.pem in `work`, waiting up to 60 s
    /// for the outcome; then the tracking entry (`status: MONITORING` once issued).
    public static func request(_ name: String, challenge: String, in work: URL) -> String {
        let key = work.appendingPathComponent("\(name).key").path
        let certificate = work.appendingPathComponent("\(name).pem").path
        return """
            getcert request -s -c Scepter -I \(name) -k \(key) -f \(certificate) \
              -N CN=\(name).example.com -D \(name).example.com -L '\(challenge)' -w --wait-timeout 60
            echo "== request \(name): $?"
            getcert list -s -i \(name)

            """
    }
}
