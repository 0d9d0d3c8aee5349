import COpenSSL

/// Process-wide OpenSSL setup and error translation.
///
/// This folder is the only place in ScepterProtocol that touches OpenSSL
/// pointers; everything it hands out is a Swift value.
enum OpenSSL {
    /// Loads the default and legacy providers once.
    ///
    /// Single DES lives in the legacy provider; loading a provider explicitly
    /// disables the implicit default one, so both are loaded.
    static func initialize() {
        _ = providersLoaded
    }

    private static let providersLoaded: Bool = {
        let defaultProvider = OSSL_PROVIDER_load(nil, "default")
        let legacyProvider = OSSL_PROVIDER_load(nil, "legacy")
        ERR_clear_error()
        return defaultProvider != nil && legacyProvider != nil
    }()

    /// Whether single DES (the legacy provider) is available.
    static var legacyAvailable: Bool { providersLoaded }

    /// Drains the thread's OpenSSL error queue into one line.
    static func drainErrors() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            messages.append(message)
        }
        return messages.isEmpty ? "no OpenSSL error detail" : messages.joined(separator: "; ")
    }

    /// An OpenSSL failure; `operation` says what Scepter was doing.
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var detail: String

        init(_ operation: String) {
            self.operation = operation
            self.detail = OpenSSL.drainErrors()
        }

        var description: String { "\(operation): \(detail)" }
    }
}

// MARK: - BIO helpers

extension OpenSSL {
    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> R) throws -> R {
        // A zero-length view may have no base address; OpenSSL refuses NULL even for length 0.
        let storage = bytes.isEmpty ? [0] : bytes
        return try storage.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(bytes.count)) else {
                throw Failure("allocating a memory BIO")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` with an empty writable memory BIO and returns what was written.
    static func collectingBIO(_ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else {
            throw Failure("allocating a memory BIO")
        }
        defer { BIO_free(bio) }
        try body(bio)
        return readAll(bio)
    }

    static func readAll(_ bio: OpaquePointer) -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = scepter_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// Copies an ASN1_STRING's bytes.
    static func bytes(of string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
        let length = Int(ASN1_STRING_length(string))
        guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    /// Serializes with an i2d function (two-call protocol: size, then bytes).
    static func encode(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32, what: String) throws -> [UInt8] {
        let length = i2d(nil)
        guard length > 0 else { throw Failure("encoding \(what)") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&cursor)
        }
        guard written == length else { throw Failure("encoding \(what)") }
        return output
    }
}
