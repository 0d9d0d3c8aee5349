import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ScepterControl
import ScepterEdge
import ScepterProtocol
import ServiceLifecycle
import UnixSignals

/// `scepter edge`: a stateless SCEP worker (SPEC §1, §9).
struct EdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge", abstract: "Run an edge worker: SCEP and its gates, state in Redis, issuance by the control plane.")

    @Flag(help: "Check the configuration and exit: 0 when this edge would start, 2 with every problem. Reads the files it names; connects to nothing.")
    var check = false

    func run() async throws {
        let (logger, logProblems) = Scepter.beginServer(label: "scepter.edge")
        let variables = reviewVariables(.edge, printing: check, logger: logger)
        let edge = try await preflight(after: logProblems + variables.problems) { try EdgeServer.make(environment: ProcessInfo.processInfo.environment, logger: logger) }
        if check {
            configurationChecked(
                "edge \(edge.configuration.edgeID), profiles \(edge.configuration.profiles.keys.sorted().joined(separator: ","))",
                warnings: variables.warnings.count)
        }
        let profiles = edge.configuration.profiles.keys.sorted().map { "/scep/\($0)" }.joined(separator: " ")
        try await RoleRunner.serve(
            edge.router, listen: edge.options.listen, limits: edge.options.limits, tls: edge.options.tls,
            tlsServed: ServerTLS.publishing(to: edge.metrics.registry), inside: edge.internalListener,
            name: "edge \(edge.configuration.edgeID)", detail: profiles,
            services: edge.services, grace: edge.options.shutdownGrace, logger: logger)
    }
}

/// `scepter control`: issuers, PostgreSQL, the internal and admin APIs (SPEC §1, §8, §9).
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control", abstract: "Run the control plane: issuers, PostgreSQL audit log and inventory, internal and admin APIs.")

    @Flag(help: "Check the configuration and exit: 0 when this control plane would start, 2 with every problem. Reads the files it names; connects to nothing, migrates nothing.")
    var check = false

    func run() async throws {
        let (logger, logProblems) = Scepter.beginServer(label: "scepter.control")
        let variables = reviewVariables(.control, printing: check, logger: logger)
        let control = try await preflight(after: logProblems + variables.problems) { try ControlServer.make(environment: ProcessInfo.processInfo.environment, logger: logger) }
        if check { configurationChecked("control plane", warnings: variables.warnings.count) }
        try await migrate(control.store, logger: logger)
        try await RoleRunner.serve(
            control.router, listen: control.options.listen, limits: control.options.limits, tls: control.options.tls,
            tlsServed: ServerTLS.publishing(to: control.metrics.registry), inside: control.internalListener,
            name: "control plane", detail: nil,
            services: control.services, grace: control.options.shutdownGrace, logger: logger)
    }

    /// Migrations run before the server starts; a database that is not up
    /// yet is retried for a minute (the order pods start in is not ours).
    private func migrate(_ store: PostgresStore, logger: Logger) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await store.migrate()
                return
            } catch {
                guard ContinuousClock.now < deadline else {
                    StandardOutput.error("scepter control: cannot migrate the database (SCEPTER_DATABASE_URL): \(error)")
                    throw ExitCode(1)
                }
                logger.warning("database not ready for migrations; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(2))
            }
        }
    }
}

/// `--check`: the configuration passed preflight. Ends the process at once:
/// nothing was started, so nothing needs shutting down (clients built by
/// the preflight are never used). Warnings do not fail the check.
func configurationChecked(_ role: String, warnings: Int) -> Never {
    let note = warnings == 0 ? "" : " (\(warnings) warning\(warnings == 1 ? "" : "s") above)"
    StandardOutput.write("scepter \(role): configuration OK\(note)")
    exit(0)
}

/// Reviews the environment against `KnownVariables` before the role's
/// loader runs. Warnings (a variable no role reads) are logged, or with
/// `printing` (`--check`) written to standard error whatever the log level;
/// the problems (a misspelling near a security setting) are returned for
/// the preflight to report beside the loader's.
func reviewVariables(_ role: KnownVariables.Role, printing: Bool, logger: Logger) -> KnownVariables.Review {
    let review = KnownVariables.review(ProcessInfo.processInfo.environment, role: role)
    for warning in review.warnings {
        if printing {
            StandardOutput.error("warning: \(warning.variable) \(warning.message)")
        } else {
            logger.warning("\(warning.variable) \(warning.message)", metadata: ["variable": "\(warning.variable)"])
        }
    }
    return review
}

/// Runs a configuration loader; prints every problem (`earlier` first: those
/// found before it ran, such as the log variables') and exits 2 on a bad
/// configuration.
func preflight<T>(after earlier: [ConfigurationProblem] = [], _ load: () async throws -> T) async throws -> T {
    let value: T
    do {
        value = try await load()
    } catch let error as ConfigurationError {
        StandardOutput.error(ConfigurationError(earlier + error.problems).description)
        throw ExitCode(2)
    }
    guard earlier.isEmpty else {
        StandardOutput.error(ConfigurationError(earlier).description)
        // At once, as `configurationChecked`: what `load` built is never used, and an HTTP client
        // (the edge's to the control plane) traps in its deinit unless shut down first.
        exit(2)
    }
    return value
}

enum RoleRunner {
    /// Serves `router` with `services` beside it until SIGTERM or SIGINT,
    /// announcing "Scepter <name> listening on host:port" once bound.
    static func serve<Responder: HTTPResponderBuilder>(
        _ router: Responder, listen: (host: String, port: Int), limits: ListenerLimits, tls files: TLSFiles?,
        tlsServed: @escaping @Sendable (Date) -> Void, inside: (router: Router<BasicRequestContext>, listen: (host: String, port: Int))?, name: String,
        detail: String?, services: [any Service], grace: Duration, logger: Logger
    ) async throws where Responder.Responder.Context: RequestContext, Responder.Responder.Context.Source == ApplicationRequestContextSource {
        let (host, port) = listen
        var loaded: ServerTLS?
        if let files { loaded = try await preflight { try ServerTLS.make(files, logger: logger, served: tlsServed) } }
        let tls = loaded
        let app = Application(
            router: OnConnectionLoop(inner: router), server: Listener.server(limits: limits, tls: tls),
            configuration: Listener.configuration(host: host, port: port, limits: limits, logger: logger),
            services: services + (tls.map { [$0] } ?? []) + (inside.map { [internalApplication($0, limits: limits, name: name, logger: logger)] } ?? []),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.notice("listening", metadata: ["role": "\(name)", "port": "\(bound)"])
                StandardOutput.write(
                    "Scepter \(name) listening on \(host):\(bound)" + (tls == nil ? "" : " with TLS") + (detail.map { " (\($0))" } ?? ""))
            },
            logger: logger)
        try await run(app, grace: grace, logger: logger)
    }

    /// The plain-HTTP listener for `/metrics` and `/readyz` with detail, run
    /// beside the main one as a service.
    static func internalApplication(
        _ inside: (router: Router<BasicRequestContext>, listen: (host: String, port: Int)), limits: ListenerLimits, name: String,
        logger: Logger
    ) -> some Service {
        let (host, port) = inside.listen
        return Application(
            router: inside.router, server: Listener.server(limits: limits, tls: nil),
            configuration: Listener.configuration(host: host, port: port, limits: limits, logger: logger),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                StandardOutput.write("Scepter \(name) internal listener (metrics, readiness) on \(host):\(bound)")
            },
            logger: logger)
    }

    /// Runs the application until SIGTERM or SIGINT, then drains: the server
    /// stops accepting, in-flight requests finish within `grace`, services
    /// stop in reverse order; past `grace` what remains is cancelled.
    static func run(_ app: some Service, grace: Duration, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = grace
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
        logger.notice("stopped")
    }
}
