import ScepterProtocol
import SwiftASN1

/// The pkcsPKIEnvelope as if its signature had held: `PKIMessage.open` with
/// the fixtures' RA (EnvelopedData parse, recipient match, RSA key
/// transport, decryption, then the content parser of the message type).
/// The first byte picks the message type, the rest is the EnvelopedData.
enum EnvelopeTarget {
    static let types: [MessageType] = [.pkcsReq, .renewalReq, .certPoll, .getCert, .getCRL]

    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let header = PKIMessage.Header(
            messageType: types[Int(first) % types.count], transactionID: "fuzz", senderNonce: [1, 2, 3, 4], digest: .sha256)
        switch PKIMessage.open(Array(bytes.dropFirst()), header: header, signerCertificate: FuzzFixtures.device.certificate, ra: FuzzFixtures.ra) {
        case .message(let message): Inspect.content(message.content)
        case .refused(_, let refusal, _): _ = refusal.reason.count
        }
    }

    /// The envelopes of the PKIMessage seeds, each behind its type byte.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        try PKIMessageTarget.seeds().compactMap { seed in
            guard let envelope = try? encapsulatedContent(of: seed.bytes),
                let typeIndex = types.firstIndex(where: { seed.name.hasPrefix(String(describing: $0).lowercased()) })
            else { return nil }
            return (name: seed.name, bytes: [UInt8(typeIndex)] + envelope)
        }
    }

    /// ContentInfo { type, [0] SignedData { version, digests, EncapsulatedContentInfo { type, [0] OCTET STRING } } }.
    static func encapsulatedContent(of signedData: [UInt8]) throws -> [UInt8] {
        func children(_ node: ASN1Node) throws -> [ASN1Node] {
            guard case .constructed(let nodes) = node.content else { throw ASN1Error.invalidASN1Object(reason: "not constructed") }
            return Array(nodes)
        }
        let contentInfo = try children(try DER.parse(signedData))
        let signed = try children(try children(contentInfo[1])[0])
        let encapsulated = try children(signed[2])
        let octets = try children(encapsulated[1])[0]
        return Array(try ASN1OctetString(derEncoded: octets).bytes)
    }
}
