import ArgumentParser
import Foundation

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
    /// Ignores SIGHUP until the services that reload on it trap it. Its
    /// default action ends the process, and a server announces itself before
    /// every service has started: a reload sent as the pod came up would
    /// otherwise kill it. libdispatch installs its own handler when a service
    /// traps the signal, replacing this.
    static func ignoreHangUpUntilTrapped() {
        signal(SIGHUP, SIG_IGN)
    }
}
