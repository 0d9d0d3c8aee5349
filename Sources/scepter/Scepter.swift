import ArgumentParser

/// The one executable: `scepter dev|ca|version` (the cluster roles follow).
@main
struct Scepter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scepter",
        abstract: "SCEP (RFC 8894) enrollment service: a drop-in NDES replacement for Intune fleets.",
        version: ScepterVersion.string,
        subcommands: [DevCommand.self, CACommand.self, VersionCommand.self]
    )
}
