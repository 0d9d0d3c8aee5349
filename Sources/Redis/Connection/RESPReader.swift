import CHiredis
import NIOCore

/// Owns one hiredis `redisReader`: bytes go in with `feed`, whole replies come
/// out of `next`. Not thread-safe: one per connection, used on its event loop.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else {
            // hiredis only fails here when malloc does.
            fatalError("redisReaderCreate: out of memory")
        }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

    /// Appends bytes received from the server.
    func feed(_ bytes: some Collection<UInt8>) throws(RedisError) {
        let status =
            bytes.withContiguousStorageIfAvailable { feed(UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { feed($0) }
        guard status == REDIS_OK else { throw readerError() }
    }

    private func feed(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return REDIS_OK }
        return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    /// The next complete reply, or nil when more bytes are needed.
    func next() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw readerError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.value(of: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func readerError() -> RedisError {
        RedisError(.protocolError, String(cString: scepter_redisReaderGetError(reader)))
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let reply = reply.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(reply))
        case REDIS_REPLY_STATUS:
            return .simple(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(reply), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL:
            return .bulk(nil)
        case REDIS_REPLY_ARRAY:
            guard let elements = reply.element else { return .array([]) }
            return .array((0..<reply.elements).map { index in
                elements[index].map(value(of:)) ?? .bulk(nil)
            })
        default:
            // hiredis 0.14 produces no other type from RESP2.
            return .error("unsupported reply type \(reply.type)")
        }
    }

    private static func bytes(_ reply: redisReply) -> [UInt8] {
        guard let string = reply.str, reply.len > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: string, count: reply.len))
    }
}
