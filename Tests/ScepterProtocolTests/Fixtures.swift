import Foundation

/// The OpenSSL-made vectors in Fixtures/ (see Fixtures/README.md for the commands).
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/\(name)")
        return Array(try Data(contentsOf: url))
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }

    static var path: String { Bundle.module.resourceURL!.appendingPathComponent("Fixtures").path }
}
