import Foundation
import NIOCore
import ScepterProtocol

/// The admin API's JSON request bodies, read strictly. A member the endpoint
/// does not take is refused by name, so a misspelt `dryRun` cannot turn a
/// count into a revocation; a value of the wrong kind names its member and
/// what it must be, and a member given twice is refused (`DuplicateMembers`).
/// Each body type reads its members with `members(_:)` and
/// `member(_:_:)` in its `init(from:)`.
enum RequestBody {
    /// Decodes `body` as `Body`; `shape` describes the whole body for a body
    /// that is not a JSON object at all.
    static func decode<Body: Decodable>(_: Body.Type, from body: ByteBuffer, shape: String) throws(ParameterProblem) -> Body {
        if let twice = DuplicateMembers.first(in: body.readableBytesView) {
            throw ParameterProblem(message: "member \"\(twice)\" is given twice in the body; give it once")
        }
        do {
            return try decoder.decode(Body.self, from: Data(body.readableBytesView))
        } catch let problem as ParameterProblem {
            throw problem
        } catch {
            throw ParameterProblem(message: "the body must be a JSON object \(shape)")
        }
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            guard let date = StrictTime.parse(try container.decode(String.self)) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time")
            }
            return date
        }
        return decoder
    }()

    /// What a time member must be.
    static let time = QueryParameters.timeForm
    /// What a revocation reason must be.
    static let reason = "one of " + Revocation.Reason.allCases.map(\.rawValue).joined(separator: ", ")

    /// A body's member names, for messages: `profile, device, …`.
    static func names<Keys: CodingKey & CaseIterable>(_: Keys.Type) -> String {
        Keys.allCases.map(\.stringValue).joined(separator: ", ")
    }

    /// Whether a member may be JSON `null` (read as absent).
    enum Null {
        case absent, refused
    }

    /// Any member name, to list the ones a body holds.
    fileprivate struct AnyMember: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension Decoder {
    /// The body's members as `Keys`, after refusing any member not among them.
    func members<Keys: CodingKey & CaseIterable>(_: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let names = Keys.allCases.map(\.stringValue)
        for member in try container(keyedBy: RequestBody.AnyMember.self).allKeys where !names.contains(member.stringValue) {
            let path = (codingPath.map(\.stringValue) + [String(member.stringValue.prefix(64))]).joined(separator: ".")
            let near = names.first { $0.lowercased() == member.stringValue.lowercased() }.map { " (did you mean \"\($0)\"?)" } ?? ""
            throw ParameterProblem(message: "unknown member \"\(path)\" in the body\(near); it takes \(RequestBody.names(Keys.self))")
        }
        return try container(keyedBy: Keys.self)
    }
}

extension KeyedDecodingContainer {
    /// An optional member (absent, or null unless `null` is `.refused`, is nil);
    /// `expected` says what it must be.
    func member<Value: Decodable>(_ key: Key, _ expected: String, null: RequestBody.Null = .absent) throws -> Value? {
        if null == .refused, (try? decodeNil(forKey: key)) == true {
            throw ParameterProblem(message: "\(path(key)) must be \(expected), not null")
        }
        do {
            return try decodeIfPresent(Value.self, forKey: key)
        } catch let problem as ParameterProblem {
            throw problem
        } catch {
            throw ParameterProblem(message: "\(path(key)) must be \(expected)")
        }
    }

    /// A member the body must have.
    func required<Value: Decodable>(_ key: Key, _ expected: String) throws -> Value {
        guard let value: Value = try member(key, expected) else {
            throw ParameterProblem(message: "the body needs \(path(key)): \(expected)")
        }
        return value
    }

    private func path(_ key: Key) -> String {
        (codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
    }
}
