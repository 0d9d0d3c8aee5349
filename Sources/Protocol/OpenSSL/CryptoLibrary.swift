import COpenSSL

/// Facts about the crypto library in use, for `scepter version` and logs.
public enum CryptoLibrary {
    /// e.g. "OpenSSL 3.0.19 27 Jan 2026".
    public static var openSSLVersion: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "OpenSSL (unknown version)" }
        return String(cString: text)
    }

    /// Whether single-DES requests can be decrypted (OpenSSL's legacy provider is installed).
    public static var singleDESAvailable: Bool {
        OpenSSL.initialize()
        return OpenSSL.legacyAvailable
    }
}
