extension OCSP {
    /// The DER request of an RFC 5019 §5 GET, `GET /ocsp/{issuer}/{request}`:
    /// the path's tail is the request's base64 (standard or URL-safe, with or
    /// without padding), percent-encoded or not; a space, what a `+` left
    /// unescaped may become on the way, is read as `+`. Nil when it is not
    /// base64. The caller bounds its length.
    package static func requestDER(getPath encoded: String) -> [UInt8]? {
        Base64.decode(QueryString.percentDecode(encoded), spaceIsPlus: true)
    }
}
