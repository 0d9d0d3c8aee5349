import ArgumentParser

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
