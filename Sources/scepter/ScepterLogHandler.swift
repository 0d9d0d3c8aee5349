import Foundation
import Logging

/// The process's log handler: one line per event on standard error, as
/// text or JSON (`SCEPTER_LOG_FORMAT`), with every value escaped here so
/// that no call site can let request data forge a line.
struct ScepterLogHandler: LogHandler {
    enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    let label: String
    let format: Format
    /// The clock stamped on each line.
    let now: @Sendable () -> Date
    /// Where finished lines (without the line break) go.
    let write: @Sendable (String) -> Void
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(
        label: String, format: Format, metadataProvider: Logger.MetadataProvider? = nil, now: @escaping @Sendable () -> Date = Date.init,
        write: @escaping @Sendable (String) -> Void = StandardError.writeLine
    ) {
        self.label = label
        self.format = format
        self.metadataProvider = metadataProvider
        self.now = now
        self.write = write
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, provided in provided } }
        if let explicit = event.metadata { merged.merge(explicit) { _, explicit in explicit } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        let record = LogRecord(
            time: now(), level: event.level, label: label, message: event.message.description, source: event.source, metadata: merged)
        write(format == .json ? record.json : record.text)
    }
}
