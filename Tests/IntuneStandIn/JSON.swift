import Foundation

/// JSON through Foundation's JSONSerialization, deliberately independent of the product's Codable types.
enum JSON {
    static func encode(_ value: Any) -> [UInt8] {
        // Only the stand-in's own literals reach here, so this cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }

    static func decode(_ bytes: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    /// JSONSerialization gives every number, true and false included, as an NSNumber;
    /// its Objective-C type tells them apart ("c" for booleans).
    static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    static func isInteger(_ number: NSNumber) -> Bool {
        ["i", "q", "l", "s", "I", "Q", "L", "S"].contains(String(cString: number.objCType))
    }
}

/// Typed reads of one JSON object's members, noting each deviation on the exchange.
struct JSONObject {
    let members: [String: Any]
    /// Where the object sits in the body, for messages ("request", "results[0]").
    let path: String
    let exchange: IntuneStandIn.Exchange

    /// The body as a JSON object, or nil after noting why it is not one.
    init?(body exchange: IntuneStandIn.Exchange) {
        guard let members = JSON.decode(exchange.body) as? [String: Any] else {
            exchange.note("the body is not a JSON object: \(exchange.bodyExcerpt)")
            return nil
        }
        self.init(members: members, path: "", exchange: exchange)
    }

    init(members: [String: Any], path: String, exchange: IntuneStandIn.Exchange) {
        self.members = members
        self.path = path
        self.exchange = exchange
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func required(_ key: String) -> Any? {
        guard let value = members[key], !(value is NSNull) else {
            exchange.note("\(name(key)) is missing")
            return nil
        }
        return value
    }

    /// A string member; an empty one is a deviation unless `allowEmpty`.
    func string(_ key: String, allowEmpty: Bool = false) -> String? {
        guard let value = required(key) else { return nil }
        guard let string = value as? String else {
            exchange.note("\(name(key)) is not a string")
            return nil
        }
        if string.isEmpty && !allowEmpty { exchange.note("\(name(key)) is empty") }
        return string
    }

    /// A member that is a string, null, or absent.
    func optionalString(_ key: String) -> String? {
        guard let value = members[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else {
            exchange.note("\(name(key)) is neither a string nor null")
            return nil
        }
        return string
    }

    func integer(_ key: String) -> Int? {
        guard let value = required(key) else { return nil }
        guard let number = value as? NSNumber, JSON.isInteger(number) else {
            exchange.note("\(name(key)) is not a JSON integer")
            return nil
        }
        return number.intValue
    }

    /// Any JSON number (JWT NumericDates may carry fractions).
    func number(_ key: String) -> Double? {
        guard let value = required(key) else { return nil }
        guard let number = value as? NSNumber, !JSON.isBoolean(number) else {
            exchange.note("\(name(key)) is not a number")
            return nil
        }
        return number.doubleValue
    }

    func bool(_ key: String) -> Bool? {
        guard let value = required(key) else { return nil }
        guard let number = value as? NSNumber, JSON.isBoolean(number) else {
            exchange.note("\(name(key)) is not true or false")
            return nil
        }
        return number.boolValue
    }

    func object(_ key: String) -> JSONObject? {
        guard let value = required(key) else { return nil }
        guard let members = value as? [String: Any] else {
            exchange.note("\(name(key)) is not an object")
            return nil
        }
        return JSONObject(members: members, path: name(key), exchange: exchange)
    }

    /// An array whose elements are all objects.
    func objects(_ key: String) -> [JSONObject]? {
        guard let value = required(key) else { return nil }
        guard let array = value as? [Any] else {
            exchange.note("\(name(key)) is not an array")
            return nil
        }
        var objects: [JSONObject] = []
        for (index, element) in array.enumerated() {
            guard let members = element as? [String: Any] else {
                exchange.note("\(name(key))[\(index)] is not an object")
                continue
            }
            objects.append(JSONObject(members: members, path: "\(name(key))[\(index)]", exchange: exchange))
        }
        return objects
    }
}

/// base64url as JOSE uses it: no padding written, padding tolerated when read.
enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        // The standard alphabet's two characters are not base64url.
        guard !text.contains(where: { $0 == "+" || $0 == "/" }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}
