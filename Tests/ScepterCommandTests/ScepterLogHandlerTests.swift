import Foundation
import Logging
import Synchronization
import Testing
import ScepterProtocol
@testable import scepter

/// The log handler in process, with a fixed clock and the lines collected.
@Suite("Log lines: text and JSON, escaped in the handler", .timeLimit(.minutes(5)))
struct ScepterLogHandlerTests {
    /// 2026-03-01T09:14:07.042Z
    static let fixedTime = Date(timeIntervalSince1970: 1_772_356_447.042)
    static let forged = "tx-1\r\n2026-03-01T09:14:07.042Z info scepter.dev: outcome=success [ScepterEdge] PKIOperation"

    /// A logger whose lines land in `lines`.
    static func logger(_ format: ScepterLogHandler.Format, into lines: Lines) -> Logger {
        Logger(label: "scepter.test") { label in
            var handler = ScepterLogHandler(label: label, format: format, now: { fixedTime }, write: { lines.append($0) })
            handler.logLevel = .trace
            return handler
        }
    }

    final class Lines: Sendable {
        private let storage = Mutex<[String]>([])
        func append(_ line: String) { storage.withLock { $0.append(line) } }
        var all: [String] { storage.withLock { $0 } }
    }

    @Test func textEscapesRequestDataAndQuotesAmbiguousValues() throws {
        let lines = Lines()
        var logger = Self.logger(.text, into: lines)
        logger[metadataKey: "edge"] = "edge-1"
        logger.info(
            "PKIOperation for \(Self.forged)",
            metadata: [
                "transaction": "\(Self.forged)", "profile": "corp", "subject": "CN=a\u{1b}[31mred\u{85}\u{2028}\t\u{0}", "empty": "",
                "path": #"C:\temp "x""#,
            ])
        let line = try #require(lines.all.first)
        #expect(lines.all.count == 1)
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" })
        #expect(line.hasPrefix("2026-03-01T09:14:07.042Z info scepter.test: edge=edge-1 empty=\"\" path="))
        #expect(line.contains(#"path="C:\\temp \"x\"""#), "\(line)")
        #expect(line.contains(" profile=corp "))
        #expect(line.contains(#"subject="CN=a\u{1b}[31mred\u{85}\u{2028}\t\u{0}""#), "\(line)")
        #expect(line.contains(#"transaction="tx-1\r\n2026-03-01T09:14:07.042Z info scepter.dev: outcome=success [ScepterEdge] PKIOperation""#), "\(line)")
        #expect(line.hasSuffix(#"[ScepterCommandTests] PKIOperation for tx-1\r\n2026-03-01T09:14:07.042Z info scepter.dev: outcome=success [ScepterEdge] PKIOperation"#), "\(line)")
    }

    @Test func jsonIsOneObjectWithStableKeysAndStringValues() throws {
        let lines = Lines()
        let logger = Self.logger(.json, into: lines)
        struct Failure: Error, CustomStringConvertible {
            var description: String { "disk\nfull" }
        }
        logger.notice(
            "refused \u{2029}", error: Failure(),
            metadata: [
                "transaction": "\(Self.forged)", "level": "spoofed", "count": "\(3)",
                "nested": ["a": "1", "b": ["c": "2"]], "list": ["x", "y"],
            ])
        let line = try #require(lines.all.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{2029}"))
        #expect(line.hasPrefix(#"{"time":"2026-03-01T09:14:07.042Z","level":"notice","label":"scepter.test","message":"refused \u2029","source":"ScepterCommandTests","#), "\(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let fields = try #require(object as? [String: String], "every value is a string: \(object)")
        #expect(fields["transaction"] == Self.forged)
        #expect(fields["level"] == "notice")
        #expect(fields["metadata.level"] == "spoofed")
        #expect(fields["count"] == "3")
        #expect(fields["nested.a"] == "1")
        #expect(fields["nested.b.c"] == "2")
        #expect(fields["list"] == "[x, y]")
        #expect(fields["error.message"] == "disk\nfull")
        #expect(fields["message"] == "refused \u{2029}")
    }

    @Test func millisecondsArePaddedAndTheTimeIsUTC() {
        let record = LogRecord(
            time: Date(timeIntervalSince1970: 946_684_800.007), level: .info, label: "l", message: "m", source: "s", metadata: [:])
        #expect(record.timestamp == "2000-01-01T00:00:00.007Z")
    }

    @Test(arguments: [("json", ScepterLogHandler.Format.json), ("JSON", .json), ("text", .text)])
    func formatsAreRead(value: String, format: ScepterLogHandler.Format) {
        var settings = Settings(environment: ["SCEPTER_LOG_FORMAT": value, "SCEPTER_LOG_LEVEL": "DEBUG"])
        let options = LogSetup.Options.load(&settings)
        #expect(settings.problems.isEmpty)
        #expect(options.format == format)
        #expect(options.level == .debug)
    }

    @Test func anUnknownFormatIsAProblemNamingTheVariable() {
        var settings = Settings(environment: ["SCEPTER_LOG_FORMAT": "logfmt"])
        let options = LogSetup.Options.load(&settings)
        #expect(options.format == .text)
        #expect(settings.problems == [ConfigurationProblem("SCEPTER_LOG_FORMAT", #""logfmt" is not one of text, json"#)])
    }

    @Test("An unknown SCEPTER_LOG_LEVEL is a problem naming it, not a silent info")
    func anUnknownLevelIsAProblemNamingTheVariable() {
        var settings = Settings(environment: ["SCEPTER_LOG_LEVEL": "verbose"])
        let options = LogSetup.Options.load(&settings)
        #expect(options.level == .info, "info meanwhile, so the refusal itself is logged")
        #expect(
            settings.problems == [
                ConfigurationProblem("SCEPTER_LOG_LEVEL", #""verbose" is not one of trace, debug, info, notice, warning, error, critical"#)
            ])
        settings = Settings(environment: ["SCEPTER_LOG_LEVEL": ""])
        _ = LogSetup.Options.load(&settings)
        #expect(settings.problems.isEmpty, "empty is unset")
        // The names other tools use for two of the levels.
        for (name, level) in [("WARN", Logger.Level.warning), ("fatal", .critical), (" notice ", .notice)] {
            settings = Settings(environment: ["SCEPTER_LOG_LEVEL": name])
            #expect(LogSetup.Options.load(&settings).level == level, "\(name)")
            #expect(settings.problems.isEmpty)
        }
    }
}
