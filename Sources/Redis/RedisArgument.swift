import NIOCore

/// What `RedisClient.send` accepts as one command argument; every argument
/// goes on the wire as a binary-safe RESP bulk string.
package protocol RedisArgument: Sendable {
    /// Appends the argument's bytes (without RESP framing) to `buffer`.
    func writeRedisBytes(into buffer: inout ByteBuffer)
}

extension String: RedisArgument {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeString(self) }
}

extension Substring: RedisArgument {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeSubstring(self) }
}

extension Array: RedisArgument where Element == UInt8 {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeBytes(self) }
}

extension ByteBuffer: RedisArgument {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeImmutableBuffer(self) }
}

extension Int: RedisArgument {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeString(String(self)) }
}

extension Int64: RedisArgument {
    package func writeRedisBytes(into buffer: inout ByteBuffer) { buffer.writeString(String(self)) }
}

extension ByteBuffer {
    /// Writes `arguments` as one RESP command: an array of bulk strings.
    mutating func writeRedisCommand(_ arguments: [any RedisArgument]) {
        writeString("*\(arguments.count)\r\n")
        var scratch = ByteBuffer()
        for argument in arguments {
            scratch.clear()
            argument.writeRedisBytes(into: &scratch)
            writeString("$\(scratch.readableBytes)\r\n")
            writeImmutableBuffer(scratch)
            writeStaticString("\r\n")
        }
    }
}
