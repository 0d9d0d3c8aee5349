import ArgumentParser
import ScepterProtocol

enum ScepterVersion {
    static let string = ScepterRelease.version
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("scepter \(ScepterVersion.string) (\(CryptoLibrary.openSSLVersion))")
    }
}
