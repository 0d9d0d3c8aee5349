import ArgumentParser
import Foundation
import Logging
import ScepterProtocol

/// The one executable: `scepter dev|edge|control|ca|version`.
@main
struct Scepter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scepter",
        abstract: "SCEP (RFC 8894) enrollment service: a drop-in NDES replacement for Intune fleets.",
        version: ScepterVersion.string,
        subcommands: [DevCommand.self, EdgeCommand.self, ControlCommand.self, CACommand.self, VersionCommand.self]
    )
}

extension Scepter {
    /// What a server does first, before anything starts an event loop: SIGHUP
    /// ignored until trapped, logging bootstrapped, its threads laid out
    /// (`ServerThreads`). Returns the logger and the problems found in those
    /// variables, for the preflight to report beside the role's own.
    static func beginServer(label: String) -> (logger: Logger, problems: [ConfigurationProblem]) {
        ignoreHangUpUntilTrapped()
        let (logger, logProblems) = LogSetup.bootstrapFromEnvironment(label: label)
        return (logger, logProblems + ServerThreads.configure(environment: ProcessInfo.processInfo.environment, logger: logger))
    }

    /// Ignores SIGHUP until the services that reload on it trap it. Its
    /// default action ends the process, and a server announces itself before
    /// every service has started: a reload sent as the pod came up would
    /// otherwise kill it. libdispatch installs its own handler when a service
    /// traps the signal, replacing this.
    static func ignoreHangUpUntilTrapped() {
        signal(SIGHUP, SIG_IGN)
    }
}
