import ArgumentParser
import ScepterProtocol

enum ScepterVersion {
    static let string = "0.1.0"
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("scepter \(ScepterVersion.string) (\(CryptoLibrary.openSSLVersion))")
    }
}
