import Foundation
import Testing
import ScepterProtocol
import ScepterTesting

/// A real `scepter dev` receives a PKIOperation whose transactionID carries
/// CR/LF and a whole fake log line; its log must still be one event per line.
@Suite("Interop: request data cannot forge log lines", .serialized, .timeLimit(.minutes(2)))
struct LogInjectionTests {
    static let fakeLine = "2026-03-01T09:14:07.042Z info scepter.dev: outcome=success profile=default transaction=forged [ScepterEdge] PKIOperation"
    static let transactionID = "tx-injected\r\n\(fakeLine)\n\u{1b}[2K\u{85}"

    /// Enrolls with the forged transactionID and returns the log once the
    /// PKIOperation line is in it.
    static func enrollWithForgedTransaction(format: String) async throws -> String {
        let log = try Shell.temporaryDirectory().appendingPathComponent("stderr.log")
        let server = try await DevServerProcess.start(
            environment: ["SCEPTER_LOG_LEVEL": "info", "SCEPTER_LOG_FORMAT": format], standardErrorFile: log)
        defer { server.terminate() }
        let device = try TestDevice(commonName: "injected", challenge: server.challenge)
        let (status, body) = try await server.pkiOperation(try device.pkcsReq(ra: try server.raCertificate, transactionID: transactionID))
        #expect(status == 200)
        let reply = try SCEPClient.readReply(body, requester: try device.signer.keyPair())
        #expect(reply.status == .success)
        #expect(reply.transactionID == transactionID)
        return try await server.waitForLog { $0.contains("PKIOperation") }
    }

    @Test("Text: every line is one event; the transactionID is escaped inside its quoted value")
    func textLinesStayLines() async throws {
        let log = try await Self.enrollWithForgedTransaction(format: "text")
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // the log ends with a line break
        #expect(lines.count >= 2, "\(log)")
        for line in lines {
            let start = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info|notice|warning|error|critical) /#
            #expect(line.firstMatch(of: start) != nil, "not a log line: \(line)")
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "raw control character: \(line)")
        }
        #expect(!lines.contains { $0.hasPrefix("2026-03-01T09:14:07.042Z") }, "the fake line became a line:\n\(log)")
        let operations = lines.filter { $0.hasSuffix("] PKIOperation") }
        #expect(operations.count == 1, "\(log)")
        let escaped = #"transaction="tx-injected\r\n2026-03-01T09:14:07.042Z info scepter.dev: outcome=success profile=default transaction=forged [ScepterEdge] PKIOperation\n\u{1b}[2K\u{85}""#
        #expect(operations.first?.contains(escaped) == true, "\(log)")
        #expect(operations.first?.contains(" outcome=success ") == true)
    }

    @Test("JSON: every line parses, with stable keys, and the transactionID comes back intact")
    func jsonLinesParse() async throws {
        let log = try await Self.enrollWithForgedTransaction(format: "json")
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count >= 2, "\(log)")
        var objects: [[String: String]] = []
        for line in lines {
            let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8))
            let object = try #require(parsed as? [String: String], "not a JSON object of strings: \(line)")
            for key in ["time", "level", "label", "message", "source"] {
                #expect(object[key] != nil, "no \(key): \(line)")
            }
            #expect(object["time"]?.firstMatch(of: #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/#) != nil, "\(line)")
            objects.append(object)
        }
        let operation = try #require(objects.first { $0["message"] == "PKIOperation" }, "\(log)")
        #expect(operation["transaction"] == Self.transactionID)
        #expect(operation["outcome"] == "success")
        #expect(operation["label"] == "scepter.dev")
        #expect(operation["level"] == "info")
        #expect(objects.filter { $0["message"] == "PKIOperation" }.count == 1)
    }

    @Test("An unknown SCEPTER_LOG_FORMAT stops the start, naming the variable, beside the other problems")
    func unknownFormatIsRefused() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["SCEPTER_LOG_FORMAT"] = "yaml"
        environment["SCEPTER_PROFILES"] = "wifi"
        let directory = try Shell.temporaryDirectory()
        let run = try await Shell.run(
            DevServerProcess.binary, ["dev", "--data-dir", directory.path, "--port", "0"], environment: environment, timeout: .seconds(60))
        #expect(run.status == 2)
        #expect(run.stderr.contains("configuration refused (2 problems)"), "\(run.stderr)")
        #expect(run.stderr.contains(#"SCEPTER_LOG_FORMAT: "yaml" is not one of text, json"#), "\(run.stderr)")
        #expect(run.stderr.contains("SCEPTER_PROFILE_WIFI_CHALLENGE_PASSWORD"), "\(run.stderr)")
    }
}
