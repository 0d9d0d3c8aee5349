import NIOCore
import NIOSSL

/// Pairs pipelined commands with their replies on one connection.
///
/// RESP answers in order, so a FIFO of promises is the whole bookkeeping: a
/// write appends the caller's promise, each complete reply fulfils the oldest.
/// When the connection ends, or the server sends something unparseable or
/// unsolicited, every waiting caller fails and the channel closes.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    /// One encoded command and who waits for its reply.
    struct Request: Sendable {
        var command: ByteBuffer
        var reply: EventLoopPromise<RedisValue>
    }

    private let reader = RESPReader()
    private var waiting = CircularBuffer<EventLoopPromise<RedisValue>>(initialCapacity: 16)
    /// Set once the connection is unusable; later writes fail with it.
    private var failure: RedisError?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard failure == nil else {
            request.reply.fail(CommandNotSent())
            promise?.fail(CommandNotSent())
            return
        }
        waiting.append(request.reply)
        context.write(wrapOutboundOut(request.command), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        do throws(RedisError) {
            try reader.feed(unwrapInboundIn(data).readableBytesView)
            while let value = try reader.next() {
                guard let reply = waiting.popFirst() else {
                    throw RedisError(.protocolError, "reply without a command")
                }
                reply.succeed(value)
            }
        } catch {
            fail(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Only the handshake: a TLS connection closed without close_notify later is an ordinary drop.
        if case NIOSSLError.handshakeFailed = error {
            fail(RedisError(.tlsFailed, "\(error)"), context: context)
        } else {
            fail(RedisError(.connectionClosed, "connection error: \(error)"), context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "the connection was closed"))
    }

    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        while let reply = waiting.popFirst() { reply.fail(error) }
    }
}

/// A command that never reached the socket because its connection had
/// already failed; the client sends it again on a new connection.
struct CommandNotSent: Error {}
