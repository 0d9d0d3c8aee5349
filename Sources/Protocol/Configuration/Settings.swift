import Foundation
import Synchronization

/// One thing wrong with the configuration, naming the variable at fault.
public struct ConfigurationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var variable: String
    public var message: String

    public init(_ variable: String, _ message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "\(variable): \(message)" }
}

/// Every configuration problem at once; a role refuses to start with it.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    public init(_ problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String {
        "configuration refused (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads SPEC §9 environment variables, collecting problems instead of
/// stopping at the first one.
public struct Settings: Sendable {
    public let environment: [String: String]
    public private(set) var problems: [ConfigurationProblem] = []

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public mutating func problem(_ variable: String, _ message: String) {
        let problem = ConfigurationProblem(variable, message)
        if !problems.contains(problem) { problems.append(problem) }
    }

    /// The names the loaders ask for, noted while a task sets
    /// `Settings.$readLog` (a test's): each with whether its `_FILE` was read too.
    package final class ReadLog: Sendable {
        private let names = Mutex<[String: Bool]>([:])

        package init() {}

        /// Each name asked for, and whether its `_FILE` variant was read with it.
        package var read: [String: Bool] { names.withLock { $0 } }

        func note(_ name: String, file: Bool) {
            names.withLock { $0[name] = ($0[name] ?? false) || file }
        }
    }

    @TaskLocal package static var readLog: ReadLog?

    /// The value of `name` alone, without a `_FILE` variant (`SCEPTER_LOG_LEVEL`, read before files can be reported).
    public func unfiled(_ name: String) -> String? {
        Self.readLog?.note(name, file: false)
        return environment[name]
    }

    /// The value of `name`, or of the file named by `name_FILE` (trailing newline trimmed).
    public mutating func string(_ name: String) -> String? {
        Self.readLog?.note(name, file: true)
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment[name + "_FILE"], !path.isEmpty else { return nil }
        do {
            return try SecretFiles.readPublic(at: path, setting: name + "_FILE").trimmingCharacters(in: .newlines)
        } catch {
            problem(name + "_FILE", "cannot read \(path)")
            return nil
        }
    }

    /// A secret: like `string`, but a `_FILE` readable by group or others is refused.
    /// An empty file is refused: it would otherwise read as the secret "".
    public mutating func secret(_ name: String) -> String? {
        Self.readLog?.note(name, file: true)
        if let value = environment[name], !value.isEmpty { return value }
        guard let path = environment[name + "_FILE"], !path.isEmpty else { return nil }
        do {
            let value = try SecretFiles.readSecret(at: path, setting: name + "_FILE").trimmingCharacters(in: .whitespacesAndNewlines)
            if value.isEmpty {
                problem(name + "_FILE", "\(path) is empty")
                return nil
            }
            return value
        } catch {
            problem(error.setting, error.message)
            return nil
        }
    }

    /// The shortest bearer token accepted: 32 bytes (`openssl rand -base64 32`
    /// gives 44). A shorter one is guessable faster than the rest of the system is attackable.
    public static let minimumTokenLength = 32

    /// A bearer token (`SCEPTER_EDGE_TOKEN`): a secret of at least
    /// `minimumTokenLength` bytes. Problems never quote the token.
    public mutating func bearerToken(_ name: String) -> String? {
        guard let token = secret(name) else { return nil }
        guard token.utf8.count >= Self.minimumTokenLength else {
            problem(name, "is \(token.utf8.count) bytes; a token needs at least \(Self.minimumTokenLength) (e.g. openssl rand -base64 32)")
            return nil
        }
        return token
    }

    /// A comma-separated list of bearer tokens, each `token` or `name:token`
    /// (`BearerTokens.split`), every token at least `minimumTokenLength`
    /// bytes; entries that are too short are reported by position and name, never quoted.
    public mutating func bearerTokenList(_ name: String) -> [String] {
        bearerTokenEntries(name).map(\.entry)
    }

    /// `bearerTokenList` with each entry's position in the list (from 1), for problems that name it.
    public mutating func bearerTokenEntries(_ name: String) -> [(position: Int, entry: String)] {
        let entries = (secret(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var accepted: [(position: Int, entry: String)] = []
        for (index, entry) in entries.enumerated() {
            let (holder, token) = BearerTokens.split(entry)
            guard token.utf8.count >= Self.minimumTokenLength else {
                let which = holder.map { "entry \(index + 1) (\($0))" } ?? "entry \(index + 1)"
                problem(name, "\(which) is a token of \(token.utf8.count) bytes; a token needs at least \(Self.minimumTokenLength) (e.g. openssl rand -base64 32)")
                continue
            }
            accepted.append((index + 1, entry))
        }
        return accepted
    }

    public mutating func required(_ name: String, _ why: String) -> String? {
        guard let value = string(name) else {
            problem(name, "is required (\(why))")
            return nil
        }
        return value
    }

    /// A required secret (`secret`: a `_FILE` must be owner-only), e.g. a URL carrying a password.
    public mutating func requiredSecret(_ name: String, _ why: String) -> String? {
        guard let value = secret(name) else {
            if environment[name + "_FILE"] == nil { problem(name, "is required (\(why))") }
            return nil
        }
        return value
    }

    /// A comma-separated list, trimmed, empty items dropped.
    public mutating func list(_ name: String) -> [String] {
        (string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public mutating func duration(_ name: String, default fallback: Duration) -> Duration {
        optionalDuration(name) ?? fallback
    }

    public mutating func optionalDuration(_ name: String) -> Duration? {
        guard let text = string(name) else { return nil }
        guard let value = DurationText.parse(text) else {
            problem(name, "\"\(text)\" is not a duration (use e.g. 90s, 60m, 24h, 365d)")
            return nil
        }
        return value
    }

    public mutating func integer(_ name: String, default fallback: Int, minimum: Int = 0) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), value >= minimum else {
            problem(name, "\"\(text)\" is not a whole number of at least \(minimum)")
            return fallback
        }
        return value
    }

    /// A `host:port` to listen on (`SCEPTER_EDGE_LISTEN`, `SCEPTER_CONTROL_LISTEN`);
    /// `[::]:8080` for IPv6. Port 0 picks a free port.
    public mutating func listenAddress(_ name: String, default fallback: String) -> (host: String, port: Int) {
        let text = string(name) ?? fallback
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else {
            problem(name, "\"\(text)\" is not host:port (e.g. 0.0.0.0:8080)")
            return ("0.0.0.0", 0)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// `host:port` when `name` is set; nil otherwise.
    public mutating func optionalListenAddress(_ name: String) -> (host: String, port: Int)? {
        guard string(name) != nil else { return nil }
        return listenAddress(name, default: "")
    }

    /// An http:// or https:// base URL without a trailing slash.
    public mutating func httpURL(_ name: String, _ why: String) -> String? {
        guard let text = required(name, why) else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), URLComponents(string: text)?.host?.isEmpty == false else {
            problem(name, "\"\(text)\" is not an http:// or https:// URL")
            return nil
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// The upper-cased name used in variable names for a profile or issuer.
    public static func variableName(_ name: String) -> String {
        name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// Profile and issuer names: lowercase letters, digits and dashes.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// Durations as operators write them: `90s`, `60m`, `24h`, `365d`.
public enum DurationText {
    /// Each unit and its seconds, largest first.
    private static let units: [(unit: Character, seconds: Int64)] = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]

    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = trimmed.last, let number = Int64(trimmed.dropLast()), number >= 0 else { return nil }
        guard let scale = units.first(where: { $0.unit == unit })?.seconds else { return nil }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: scale)
        // Beyond a century is a typo, not a validity.
        guard !overflow, seconds <= 100 * 365 * 86400 else { return nil }
        return .seconds(seconds)
    }

    /// `duration` as it would be written, in the largest unit that divides it whole (`36h`, not `1d`).
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        let unit = units.first { seconds % $0.seconds == 0 } ?? units[units.count - 1]
        return "\(seconds / unit.seconds)\(unit.unit)"
    }
}
