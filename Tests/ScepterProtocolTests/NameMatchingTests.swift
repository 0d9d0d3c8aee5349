import SwiftASN1
import Testing
import X509
import ScepterProtocol

/// `DistinguishedName.matches`: RFC 5280 §7.1's comparison of names.
@Suite("Name matching")
struct NameMatchingTests {
    typealias Attribute = RelativeDistinguishedName.Attribute

    static func name(_ rdns: [[Attribute]]) throws -> DistinguishedName {
        try DistinguishedName(rdns.map { try RelativeDistinguishedName($0) })
    }

    static func utf8(_ type: ASN1ObjectIdentifier, _ text: String) -> Attribute { Attribute(type: type, utf8String: text) }
    static func printable(_ type: ASN1ObjectIdentifier, _ text: String) throws -> Attribute { try Attribute(type: type, printableString: text) }

    let o = ASN1ObjectIdentifier.RDNAttributeType.organizationName
    let cn = ASN1ObjectIdentifier.RDNAttributeType.commonName
    let ou = ASN1ObjectIdentifier.RDNAttributeType.organizationalUnitName

    @Test("The same name re-encoded, in another case or with other spacing, matches")
    func reencodedMatches() throws {
        let stored = try Self.name([[Self.utf8(o, "Example Corp")], [Self.utf8(cn, "Issuing CA 1")]])
        let sent = try Self.name([[try Self.printable(o, "  EXAMPLE   corp ")], [try Self.printable(cn, "issuing ca 1")]])
        #expect(stored != sent)
        #expect(stored.matches(sent))
        #expect(sent.matches(stored))
        #expect(stored.matches(stored))
    }

    @Test("Another value, another attribute, another order or another number of RDNs does not match")
    func differentNamesDoNotMatch() throws {
        let stored = try Self.name([[Self.utf8(o, "Example Corp")], [Self.utf8(cn, "Issuing CA 1")]])
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "Example Corp")], [Self.utf8(cn, "Issuing CA 2")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "Example Corp")], [Self.utf8(ou, "Issuing CA 1")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(cn, "Issuing CA 1")], [Self.utf8(o, "Example Corp")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "Example Corp")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "ExampleCorp")], [Self.utf8(cn, "Issuing CA 1")]])), "inner spaces count")
    }

    @Test("A multi-valued RDN matches with its attributes in any order, and only with all of them")
    func multiValuedRDN() throws {
        let stored = try Self.name([[Self.utf8(o, "Example"), Self.utf8(ou, "PKI")]])
        #expect(stored.matches(try Self.name([[Self.utf8(ou, "pki"), Self.utf8(o, "EXAMPLE")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "Example")]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(o, "Example"), Self.utf8(ou, "Other")]])))
        // As many attributes, each of one side found on the other, is not enough: both ways.
        let doubled = try Self.name([[Self.utf8(cn, "a"), Self.utf8(cn, "A")]])
        let mixed = try Self.name([[Self.utf8(cn, "a"), Self.utf8(o, "x")]])
        #expect(!doubled.matches(mixed))
        #expect(!mixed.matches(doubled))
    }

    @Test("A value that is not a string compares by its encoding")
    func nonStringValues() throws {
        // A BMPString "CA" (tag 0x1E), which swift-certificates keeps as its encoding.
        let bmp = try Attribute.Value(asn1Any: ASN1Any(derEncoded: [0x1E, 0x04, 0x00, 0x43, 0x00, 0x41]))
        let bmpLower = try Attribute.Value(asn1Any: ASN1Any(derEncoded: [0x1E, 0x04, 0x00, 0x63, 0x00, 0x61]))
        let stored = try Self.name([[Attribute(type: cn, value: bmp)]])
        #expect(stored.matches(try Self.name([[Attribute(type: cn, value: bmp)]])))
        #expect(!stored.matches(try Self.name([[Attribute(type: cn, value: bmpLower)]])))
        #expect(!stored.matches(try Self.name([[Self.utf8(cn, "CA")]])))
    }
}
