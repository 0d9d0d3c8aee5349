import Foundation
import SwiftASN1
import X509

/// `--subject`: a distinguished name as operators write it (RFC 4514).
extension PKIBootstrap {
    /// Parses an RFC 4514 distinguished name as operators write it (`CN=Example Device CA,O=Example Corp,C=US`,
    /// most specific first; spaces around `,` and `=` are ignored, `\,` escapes). Accepts CN (exactly
    /// one), O, OU, C (two letters), L, ST, STREET, DC and emailAddress (E); refuses anything else.
    package static func distinguishedName(parsing text: String) throws(Problem) -> DistinguishedName {
        var components: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "," || character == ";" {
                components.append(current)
                current = ""
            } else if character == "+" {
                throw Problem("\"\(text)\": multi-valued RDNs (+) are not supported; escape a literal + as \\+")
            } else {
                current.append(character)
            }
        }
        guard !escaped else { throw Problem("\"\(text)\" ends with a lone backslash") }
        components.append(current)
        var attributes: [RelativeDistinguishedName.Attribute] = []
        var commonNames = 0
        for component in components {
            guard let equals = component.firstIndex(of: "=") else {
                throw Problem("\"\(component.trimmingCharacters(in: .whitespaces))\" is not TYPE=value (in \"\(text)\")")
            }
            let type = component[..<equals].trimmingCharacters(in: .whitespaces)
            let value = try unescape(String(component[component.index(after: equals)...]), in: text)
            guard !value.isEmpty else { throw Problem("\(type) has an empty value (in \"\(text)\")") }
            do {
                switch type.uppercased() {
                case "CN":
                    commonNames += 1
                    attributes.append(.init(type: .RDNAttributeType.commonName, utf8String: value))
                case "O": attributes.append(.init(type: .RDNAttributeType.organizationName, utf8String: value))
                case "OU": attributes.append(.init(type: .RDNAttributeType.organizationalUnitName, utf8String: value))
                case "L": attributes.append(.init(type: .RDNAttributeType.localityName, utf8String: value))
                case "ST": attributes.append(.init(type: .RDNAttributeType.stateOrProvinceName, utf8String: value))
                case "STREET": attributes.append(.init(type: .RDNAttributeType.streetAddress, utf8String: value))
                case "C":
                    guard value.count == 2, value.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                        throw Problem("C=\(value) is not a two-letter country code (in \"\(text)\")")
                    }
                    attributes.append(try .init(type: .RDNAttributeType.countryName, printableString: value.uppercased()))
                case "DC": attributes.append(try .init(type: .RDNAttributeType.domainComponent, ia5String: value))
                case "E", "EMAILADDRESS": attributes.append(try .init(type: .RDNAttributeType.emailAddress, ia5String: value))
                default:
                    throw Problem("\"\(type)\" is not an attribute type Scepter writes (CN, O, OU, C, L, ST, STREET, DC, E) (in \"\(text)\")")
                }
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem("\(type)=\(value) cannot be encoded (\(error)) (in \"\(text)\")")
            }
        }
        guard commonNames == 1 else {
            throw Problem("\"\(text)\" must name exactly one CN (it has \(commonNames))")
        }
        // RFC 4514 writes the last RDN first.
        return DistinguishedName(attributes.reversed().map { RelativeDistinguishedName($0) })
    }

    /// An RFC 4514 attribute value without its escapes and the unescaped spaces around it.
    private static func unescape(_ raw: String, in text: String) throws(Problem) -> String {
        let trimmed = raw.drop(while: { $0 == " " })
        var value = ""
        var escaped = false
        var trailingSpaces = 0  // unescaped spaces at the end, dropped
        for character in trimmed {
            if escaped {
                value.append(String(repeating: " ", count: trailingSpaces))
                trailingSpaces = 0
                guard ",+\"\\<>;= #".contains(character) else {
                    throw Problem("a backslash escapes only one of , + \" \\ < > ; = # and space, not \"\(character)\" (in \"\(text)\")")
                }
                value.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == " " {
                trailingSpaces += 1
            } else {
                guard !"\"<>".contains(character), !(character == "#" && value.isEmpty && trailingSpaces == 0) else {
                    throw Problem("\"\(character)\" must be escaped with a backslash in a value (in \"\(text)\")")
                }
                value.append(String(repeating: " ", count: trailingSpaces))
                trailingSpaces = 0
                value.append(character)
            }
        }
        return value
    }
}
