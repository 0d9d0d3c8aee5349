import Foundation
import Glibc
import Logging
import ScepterProtocol

enum LogSetup {
    /// What `SCEPTER_LOG_LEVEL` and `SCEPTER_LOG_FORMAT` ask for.
    struct Options: Sendable {
        var level: Logger.Level = .info
        var format: ScepterLogHandler.Format = .text

        /// `SCEPTER_LOG_LEVEL` (it has no `_FILE` variant) and
        /// `SCEPTER_LOG_FORMAT` (`text` or `json`). Any other value is a
        /// problem in `settings`; `info` and text are used meanwhile, so the
        /// refusal itself is logged.
        static func load(_ settings: inout Settings) -> Options {
            var options = Options()
            if let text = settings.unfiled("SCEPTER_LOG_LEVEL")?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                if let level = Self.level(named: text) {
                    options.level = level
                } else {
                    let known = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                    settings.problem("SCEPTER_LOG_LEVEL", "\"\(text)\" is not one of \(known)")
                }
            }
            if let text = settings.string("SCEPTER_LOG_FORMAT") {
                if let format = ScepterLogHandler.Format(rawValue: text.lowercased()) {
                    options.format = format
                } else {
                    let known = ScepterLogHandler.Format.allCases.map(\.rawValue).joined(separator: ", ")
                    settings.problem("SCEPTER_LOG_FORMAT", "\"\(text)\" is not one of \(known)")
                }
            }
            return options
        }

        /// A level by swift-log's name, case-insensitive, or by the names other tools use for two of them.
        static func level(named name: String) -> Logger.Level? {
            switch name.lowercased() {
            case "warn": .warning
            case "fatal": .critical
            case let other: Logger.Level(rawValue: other)
            }
        }
    }

    /// Bootstraps swift-log from `SCEPTER_LOG_LEVEL` and `SCEPTER_LOG_FORMAT`
    /// and returns a logger, with the problems found in those variables for
    /// the preflight to report beside the role's own.
    static func bootstrapFromEnvironment(label: String) -> (logger: Logger, problems: [ConfigurationProblem]) {
        var settings = Settings(environment: ProcessInfo.processInfo.environment)
        let options = Options.load(&settings)
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = ScepterLogHandler(label: label, format: options.format, metadataProvider: provider)
                handler.logLevel = options.level
                return handler
            }, metadataProvider: nil)
        var logger = Logger(label: label)
        logger.logLevel = options.level
        return (logger, settings.problems)
    }
}

/// Unbuffered stdout and stderr, so a supervisor (or a test) sees output at once.
enum StandardOutput {
    static func write(_ text: String) { write(text, to: 1) }

    static func error(_ text: String) { write(text, to: 2) }

    private static func write(_ text: String, to descriptor: Int32) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        _ = line.utf8CString.withUnsafeBufferPointer { buffer in
            Glibc.write(descriptor, buffer.baseAddress, buffer.count - 1)
        }
    }
}
