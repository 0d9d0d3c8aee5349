import X509

extension DistinguishedName {
    /// Whether `other` names the same entity by RFC 5280 §7.1's rule, as a
    /// client's GetCert may name the CA: the same RDNs in the same order,
    /// each with the same attributes in any order, and string values equal
    /// after RFC 4518's insignificant-space handling and case folding, so a
    /// name re-encoded (PrintableString as UTF8String, another case, other
    /// spacing) still matches. Values that are not strings compare by their
    /// encoding.
    package func matches(_ other: DistinguishedName) -> Bool {
        guard self != other else { return true }
        return count == other.count && zip(self, other).allSatisfy { mine, theirs in
            mine.count == theirs.count && Self.covers(mine, theirs) && Self.covers(theirs, mine)
        }
    }

    /// Whether each attribute of `rdn` has a matching one in `other`.
    private static func covers(_ rdn: RelativeDistinguishedName, _ other: RelativeDistinguishedName) -> Bool {
        rdn.allSatisfy { attribute in other.contains { $0.type == attribute.type && valuesMatch($0.value, attribute.value) } }
    }

    private static func valuesMatch(_ a: RelativeDistinguishedName.Attribute.Value, _ b: RelativeDistinguishedName.Attribute.Value) -> Bool {
        guard let first = String(a), let second = String(b) else { return a == b }
        return prepared(first) == prepared(second)
    }

    /// Leading and trailing spaces dropped, inner runs of spaces as one, case folded.
    private static func prepared(_ value: String) -> String {
        value.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }
}
