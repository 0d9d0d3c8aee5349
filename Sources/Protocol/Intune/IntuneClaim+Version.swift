import Foundation

extension IntuneClaim {
    /// Reads the claims from a payload whose signature has been verified (SPEC §5.1 gate 3).
    ///
    /// A `version` claim that is absent or `"v1"` selects the v1 claims; any
    /// other value, including a non-string, is `unknown_version`. A payload
    /// that is not a JSON object, or v1 claims that are missing or of the
    /// wrong type, are `malformed`.
    public static func parse(verifiedPayload payload: [UInt8]) -> Result<IntuneClaim, Refusal> {
        guard
            let json = try? JSONSerialization.jsonObject(with: Data(payload)),
            let object = json as? [String: Any]
        else {
            return .failure(Refusal(.malformed, "payload is not a JSON object"))
        }
        if let version = object["version"] {
            guard let name = version as? String, name == "v1" else {
                let shown = String(describing: version).quotedForReason(limit: 32)
                return .failure(Refusal(.unknownVersion, "version \(shown) is not understood; only v1 is; \(Self.sample(object))"))
            }
        }

        let claim: IntuneClaim
        do {
            claim = try JSONDecoder().decode(IntuneClaim.self, from: Data(payload))
        } catch let error as DecodingError {
            return .failure(Refusal(.malformed, "v1 claims: \(Self.explain(error))"))
        } catch {
            return .failure(Refusal(.malformed, "v1 claims do not decode"))
        }
        // JSONSerialization and JSONDecoder might settle a duplicated key differently; both must read v1.
        guard claim.version == nil || claim.version == "v1" else {
            return .failure(Refusal(.unknownVersion, "version is not understood; only v1 is"))
        }
        // Empty identities would pool unrelated devices under one rate-limit key.
        guard !claim.issuer.isEmpty else { return .failure(Refusal(.malformed, "v1 claims: iss is empty")) }
        guard !claim.subject.isEmpty else { return .failure(Refusal(.malformed, "v1 claims: sub is empty")) }
        return .success(claim)
    }

    /// What an operator reporting an unknown version needs, from a payload
    /// whose signature verified: the claims' names and who the device is.
    private static func sample(_ object: [String: Any]) -> String {
        var parts = ["claims \(object.keys.sorted().quotedForReason(limit: 16))"]
        for key in ["sub", "iss"] {
            if let value = object[key] as? String { parts.append("\(key) \(value.quotedForReason(limit: 64))") }
        }
        return parts.joined(separator: ", ")
    }

    private static func explain(_ error: DecodingError) -> String {
        func name(_ path: [any CodingKey]) -> String {
            path.first.map { $0.stringValue.quotedForReason(limit: 32) } ?? "the payload"
        }
        switch error {
        case .keyNotFound(let key, _):
            return "\(key.stringValue) is missing"
        case .valueNotFound(_, let context):
            return "\(name(context.codingPath)) is null"
        case .typeMismatch(_, let context):
            return "\(name(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return "\(name(context.codingPath)) is not valid"
        @unknown default:
            return "they do not decode"
        }
    }
}
