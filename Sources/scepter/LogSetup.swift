import Foundation
import Glibc
import Logging

enum LogSetup {
    /// Bootstraps swift-log from SCEPTER_LOG_LEVEL (default info) and returns a logger.
    static func bootstrapFromEnvironment(label: String) -> Logger {
        let environment = ProcessInfo.processInfo.environment
        let level = environment["SCEPTER_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
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
