import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

@Suite(.timeLimit(.minutes(1)))
struct SystemRandomTests {
    @Test func givesExactlyTheBytesAskedFor() {
        for count in [0, 1, 7, 8, 9, 15, 16, 17, 24, 33] {
            #expect(SystemRandom.bytes(count).count == count)
        }
        // 32 bytes all zero has probability 2^-256: this fails only if the bytes are not random.
        #expect(SystemRandom.bytes(32).contains { $0 != 0 })
    }

    @Test func uuidsAreVersion4AndDistinct() {
        var seen = Set<UUID>()
        for _ in 0..<10_000 {
            let uuid = SystemRandom.uuid()
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version nibble of \(uuid)")
            #expect(bytes[8] >> 6 == 0b10, "variant bits of \(uuid)")
            seen.insert(uuid)
        }
        #expect(seen.count == 10_000)
        let identifier = SystemRandom.identifier()
        #expect(identifier == identifier.lowercased() && UUID(uuidString: identifier) != nil)
    }

    /// Foundation's `UUID()` opens /dev/urandom on Linux and returns the same
    /// all-zero UUID when no file descriptor is free; product code takes ids
    /// from `SystemRandom` (see its comment). Comments may name it.
    @Test func productCodeDoesNotUseFoundationsUUIDInitialiser() throws {
        let sources = DevServerProcess.packageRoot.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var offenders: [String] = []
        var scanned = 0
        for case let file as URL in files where file.pathExtension == "swift" {
            scanned += 1
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if code.contains("UUID()") { offenders.append("\(file.path.dropFirst(sources.path.count + 1)):\(number + 1)") }
            }
        }
        #expect(scanned > 100, "found the sources")
        #expect(offenders.isEmpty, "UUID() in \(offenders); use SystemRandom.uuid()")
    }
}
