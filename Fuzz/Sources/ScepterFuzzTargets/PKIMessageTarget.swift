import Foundation
import ScepterProtocol

/// A PKIOperation body as the edge's handler gets it: `PKIMessage.decode`
/// with the fixtures' RA (CMS parse, signature, envelope, decryption, content).
enum PKIMessageTarget {
    static func run(_ bytes: [UInt8]) {
        guard let decoded = try? PKIMessage.decode(bytes, ra: FuzzFixtures.ra) else { return }
        switch decoded {
        case .message(let message): Inspect.content(message.content)
        case .refused(let header, let refusal, _): _ = (header.transactionID.count, refusal.reason.count)
        }
    }

    /// Requests of every type, cipher, key transport and digest, signed by
    /// the fixtures' device and encrypted to the fixtures' RA.
    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        var seeds: [(String, [UInt8])] = []
        let ra = FuzzFixtures.ra.encryption.certificate
        func request(_ type: MessageType, _ content: [UInt8], cipher: ContentCipher = .aes128, keyTransport: KeyTransport = .rsaPKCS1, digest: DigestAlgorithm = .sha256) throws -> [UInt8] {
            try SCEPClient.request(
                type, content: content, transactionID: "fuzz-\(type.rawValue)", senderNonce: Array(repeating: 7, count: 16), recipient: ra,
                cipher: cipher, keyTransport: keyTransport, signer: FuzzFixtures.device, digest: digest)
        }
        for (name, csr) in try SeedContent.csrs() {
            seeds.append(("pkcsreq-\(name)", try request(.pkcsReq, csr)))
        }
        let csr = try SeedContent.csrs()[0].bytes
        seeds.append(("renewalreq", try request(.renewalReq, csr)))
        for cipher in [ContentCipher.tripleDES, .aes192, .aes256] {
            seeds.append(("pkcsreq-\(cipher.rawValue.lowercased())", try request(.pkcsReq, csr, cipher: cipher)))
        }
        seeds.append(("pkcsreq-oaep", try request(.pkcsReq, csr, keyTransport: .rsaOAEP)))
        for digest in [DigestAlgorithm.sha1, .sha512] {
            seeds.append(("pkcsreq-\(digest.rawValue.lowercased())", try request(.pkcsReq, csr, digest: digest)))
        }
        seeds.append(("certpoll", try request(.certPoll, try SeedContent.issuerAndSubject())))
        seeds.append(("getcert", try request(.getCert, try SeedContent.issuerAndSerial())))
        seeds.append(("getcrl", try request(.getCRL, try SeedContent.issuerAndSerial())))
        return seeds.map { (name: $0.0 + ".der", bytes: $0.1) }
    }
}
