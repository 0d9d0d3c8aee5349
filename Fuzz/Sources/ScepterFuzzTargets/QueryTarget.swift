import Foundation
import ScepterProtocol

/// A SCEP request's query string and body as the edge's routes read them:
/// `operation` and `message` (percent-decoding, then lenient base64 with
/// `+` read back from a space), and a POST body of base64 instead of DER.
/// Decoding what was encoded must give the bytes back.
enum QueryTarget {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let query = QueryString(text)
        if let operation = query.rawValue(for: "operation") {
            _ = Operation(query: QueryString.percentDecode(operation))
        }
        if let raw = query.rawValue(for: "message"), raw.utf8.count <= 64 * 1024,
            let decoded = Base64.decode(QueryString.percentDecode(raw), spaceIsPlus: true)
        {
            roundTrip(decoded)
        }
        // A POST body that is not DER is tried as base64.
        if let decoded = Base64.decode(text) { roundTrip(decoded) }
    }

    static func roundTrip(_ bytes: [UInt8]) {
        guard Base64.decode(Base64.encode(bytes)) == bytes else {
            fatalError("Base64.decode(Base64.encode(x)) != x for \(bytes.count) bytes")
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let message = try PKIMessageTarget.seeds()[0].bytes
        let base64 = Base64.encode(message)
        let escaped = base64.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: "=", with: "%3D")
        let urlSafe = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return [
            ("get-raw.txt", "operation=PKIOperation&message=" + base64.replacingOccurrences(of: "+", with: " ")),
            ("get-escaped.txt", "Operation=PKIOperation&Message=" + escaped),
            ("get-urlsafe.txt", "message=" + urlSafe + "&operation=pkioperation"),
            ("getcacaps.txt", "operation=GetCACaps&message=CAIdentifier"),
            ("post-base64.txt", base64),
        ].map { (name: $0.0, bytes: Array($0.1.utf8)) }
    }
}
