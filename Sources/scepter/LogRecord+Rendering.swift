import Logging

extension LogRecord {
    /// The fixed keys of a JSON line, in the order they are written.
    static let jsonKeys = ["time", "level", "label", "message", "source"]

    /// One JSON object: `time`, `level`, `label`, `message`, `source`, then
    /// each metadata key in sorted order, every value a string. A metadata
    /// key that equals a fixed key is written as `metadata.<key>`.
    var json: String {
        var fields = [
            ("time", timestamp), ("level", level.rawValue), ("label", label), ("message", message), ("source", source),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append((Self.jsonKeys.contains(key) ? "metadata." + key : key, value))
        }
        return "{" + fields.map { LogEscaping.jsonString($0.0) + ":" + LogEscaping.jsonString($0.1) }.joined(separator: ",") + "}"
    }

    /// swift-log's `StreamLogHandler` layout with a UTC timestamp:
    /// `<time> <level> <label>: k=v k2="v 2" [<source>] <message>`. Control
    /// characters in every part are escaped, and values that hold spaces,
    /// `=` or quotes are quoted, so one event is always one unambiguous line.
    var text: String {
        var line = "\(timestamp) \(level.rawValue) \(LogEscaping.escaped(label)):"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(LogEscaping.escaped(key))=\(LogEscaping.textValue(value))"
        }
        return line + " [\(LogEscaping.escaped(source))] \(LogEscaping.escaped(message))"
    }
}
