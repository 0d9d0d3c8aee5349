import ArgumentParser

/// The issuing CA's key for a run, made by `scepter ca init`.
enum CAKey: String, CaseIterable, ExpressibleByArgument, Sendable {
    case rsa3072, rsa2048, p256

    /// The `scepter ca init` flag that makes this key.
    var initFlag: String {
        switch self {
        case .rsa3072: "--rsa"
        case .rsa2048: "--rsa2048"
        case .p256: "--ecdsa"
        }
    }
}
