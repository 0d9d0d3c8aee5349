import Logging
import NIOCore
import NIOPosix
import Synchronization

/// An async Redis client over one pipelined connection.
///
/// One connection per client, not a pool: Redis executes commands one at a
/// time on a single thread, so many callers pipelining on one socket reach the
/// server's throughput with no pool bookkeeping, and RESP's in-order replies
/// make pairing trivial. The price is head-of-line blocking behind a slow
/// command, so blocking commands (`BLPOP`, `XREAD BLOCK`, `SUBSCRIBE`) do not
/// belong on a shared client; use a client of their own.
///
/// The socket I/O is NIO's; hiredis' `redisReader` only parses replies, on the
/// connection's event loop, so no blocking call touches an event loop or the
/// cooperative pool.
///
/// Connections are made lazily, on the first command. A connection that died
/// (closed by the server, reset, or dropped after a timeout) is replaced on the
/// next command. Commands are never retried once written: a command in flight
/// when the connection drops fails with `.connectionClosed` and may or may not
/// have run. A command that found its connection already closed before it was
/// written is sent once more on a fresh connection.
package final class RedisClient: Sendable {
    package let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State: ~Copyable {
        enum Connection {
            case idle
            case connecting(id: Int, EventLoopFuture<any Channel>)
            case connected(id: Int, any Channel)
            case closed
        }
        var connection = Connection.idle
        /// When the connected server was last checked (`serverCheckInterval`).
        var checked = ContinuousClock.now
        var nextID = 1
        /// The last connection attempt failed: log the next failure quietly and
        /// the recovery loudly, so an outage is one warning, not one per command.
        var unreachable = false
    }

    /// A client for `configuration`; nothing connects until the first command.
    package init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "redis"] = "\(configuration)"
        self.logger = logger
    }

    /// A client for a `redis://[[user]:password@]host[:port][/db]` URL.
    /// - Parameter timeout: the per-command timeout (also bounds the TCP connect).
    package convenience init(
        url: String, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        timeout: Duration = .seconds(2)
    ) throws {
        let configuration = try Configuration(url: url, connectTimeout: timeout, commandTimeout: timeout)
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    deinit {
        if case .connected(_, let channel) = state.withLock({ $0.connection }) {
            channel.close(promise: nil)
        }
    }

    /// Sends one command (its name first) and returns the reply.
    ///
    /// Arguments are binary-safe. A top-level error reply throws
    /// `RedisError(.server, message)`; errors nested in arrays stay values.
    /// - Parameter timeout: overrides `configuration.commandTimeout` for this command.
    package func send(_ arguments: [any RedisArgument], timeout: Duration? = nil) async throws -> RedisValue {
        let value = try await reply(to: arguments, timeout: timeout ?? configuration.commandTimeout)
        if case .error(let message) = value { throw RedisError(.server, message) }
        return value
    }

    /// Runs `script` by its SHA-1 (`EVALSHA`), falling back to `EVAL` when the
    /// server does not have it cached (`NOSCRIPT`: first use, restart, `SCRIPT FLUSH`).
    /// `EVAL` caches it again, so the next call is one `EVALSHA`.
    package func eval(
        _ script: RedisScript, keys: [any RedisArgument] = [], arguments: [any RedisArgument] = [],
        timeout: Duration? = nil
    ) async throws -> RedisValue {
        let tail: [any RedisArgument] = [keys.count] + keys + arguments
        do {
            return try await send(["EVALSHA", script.sha1] + tail, timeout: timeout)
        } catch let error as RedisError where error.code == .server && error.message.hasPrefix("NOSCRIPT") {
            logger.debug("script not cached on the server; sending it", metadata: ["sha1": "\(script.sha1)"])
            return try await send(["EVAL", script.source] + tail, timeout: timeout)
        }
    }

    /// Whether the server answers `PING` with `PONG` within `timeout`.
    package func ping(timeout: Duration? = nil) async throws {
        let value = try await send(["PING"], timeout: timeout)
        guard value == .simple("PONG") else { throw RedisError(.protocolError, "PING answered \(value)") }
    }

    /// nil when `ping` succeeds within `timeout`; otherwise its error, for
    /// readiness reports (it never holds the password).
    package func problem(timeout: Duration) async -> String? {
        do {
            try await ping(timeout: timeout)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Closes the connection; later commands throw `.clientClosed`. Commands in
    /// flight fail with `.connectionClosed`.
    package func close() async {
        let channel: (any Channel)? = state.withLock { state in
            defer { state.connection = .closed }
            if case .connected(_, let channel) = state.connection { return channel }
            return nil
        }
        guard let channel else { return }
        try? await channel.close()
    }

    /// Returns once the current connection (if any) has closed: lets a test
    /// that makes the server drop it wait for the client to notice.
    package func waitForDisconnection() async {
        let channel: (any Channel)? = state.withLock { state in
            if case .connected(_, let channel) = state.connection { return channel }
            return nil
        }
        try? await channel?.closeFuture.get()
    }

    // MARK: - Commands on a connection

    /// The raw reply, error replies included; reconnects as needed.
    private func reply(to arguments: [any RedisArgument], timeout: Duration) async throws -> RedisValue {
        var command = ByteBuffer()
        command.writeRedisCommand(arguments)
        do {
            return try await execute(command, timeout: timeout)
        } catch is CommandNotSent {
            // Nothing reached the server: safe to send once more on a new connection.
            do {
                return try await execute(command, timeout: timeout)
            } catch is CommandNotSent {
                throw RedisError(.connectionClosed, "the connection closed before the command was sent")
            }
        }
    }

    /// `command` on the live connection. A `READONLY` answer means the server
    /// became a replica under this connection (a failover): the connection
    /// is closed, so the next command connects again, to whatever the URL
    /// names now, and meets the handshake's checks.
    private func execute(_ command: ByteBuffer, timeout: Duration) async throws -> RedisValue {
        let (channel, due) = try await connection()
        if due { try await recheck(channel) }
        let value = try await Self.execute(command, on: channel, timeout: timeout).get()
        if case .error(let message) = value, message.hasPrefix("READONLY") {
            logger.warning("redis answered READONLY: it is a replica now; reconnecting", metadata: ["error": "\(message)"])
            try? await channel.close()
        }
        return value
    }

    /// Checks the server again as the handshake did. A server that fails is
    /// left: the connection closes and the command fails as a connection would.
    private func recheck(_ channel: any Channel) async throws {
        var info = ByteBuffer()
        info.writeRedisCommand(["INFO"])
        let value = try await Self.execute(info, on: channel, timeout: configuration.commandTimeout).get()
        guard let refusal = RedisInfo.refusal(value) else { return }
        logger.warning("redis refused on a live connection; closing it", metadata: ["error": "\(refusal)"])
        try? await channel.close()
        throw RedisError(.connectionFailed, refusal)
    }

    /// Writes `command` and bounds the wait for its reply. A timeout closes the
    /// connection: a reply arriving later would be taken for the next command's.
    private static func execute(_ command: ByteBuffer, on channel: any Channel, timeout: Duration)
        -> EventLoopFuture<RedisValue>
    {
        let reply = channel.eventLoop.makePromise(of: RedisValue.self)
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            reply.fail(RedisError(.timeout, "no reply within \(timeout)"))
            channel.close(promise: nil)
        }
        reply.futureResult.whenComplete { _ in timer.cancel() }
        channel.writeAndFlush(RedisChannelHandler.Request(command: command, reply: reply)).whenFailure { error in
            // Completing twice is a no-op, so a reply already failed by the
            // handler (the command was in flight) keeps its error.
            if error is CommandNotSent || error as? ChannelError == .ioOnClosedChannel {
                reply.fail(CommandNotSent())
            } else {
                reply.fail(RedisError(.connectionClosed, "write failed: \(error)"))
            }
        }
        return reply.futureResult
    }

    // MARK: - Connection lifecycle

    /// The live connection, or a new one (shared by concurrent callers), and
    /// whether this caller is to check its server again (`recheck`): the
    /// first past `serverCheckInterval` is, the others go on.
    private func connection() async throws -> (channel: any Channel, recheck: Bool) {
        enum Action {
            case use(any Channel, recheck: Bool)
            case wait(EventLoopFuture<any Channel>)
            case connect(id: Int, EventLoopPromise<any Channel>)
            case closed
        }
        let action: Action = state.withLock { state in
            switch state.connection {
            case .connected(_, let channel) where channel.isActive:
                let due = ContinuousClock.now - state.checked >= configuration.serverCheckInterval
                if due { state.checked = .now }
                return .use(channel, recheck: due)
            case .connecting(_, let future):
                return .wait(future)
            case .closed:
                return .closed
            case .idle, .connected:
                let id = state.nextID
                state.nextID += 1
                let promise = group.next().makePromise(of: (any Channel).self)
                state.connection = .connecting(id: id, promise.futureResult)
                return .connect(id: id, promise)
            }
        }
        switch action {
        case .use(let channel, let recheck):
            return (channel, recheck)
        case .wait(let future):
            return (try await future.get(), false)
        case .closed:
            throw RedisError(.clientClosed, "the client was closed")
        case .connect(let id, let promise):
            promise.completeWith(connect(id: id, on: promise.futureResult.eventLoop))
            return (try await promise.futureResult.get(), false)
        }
    }

    /// Connects, authenticates and selects the database, then publishes the
    /// connection in `state` (or closes it if the client was closed meanwhile).
    private func connect(id: Int, on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        let configuration = configuration
        let logger = logger
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if configuration.tls {
                        try channel.pipeline.syncOperations.addHandler(try RedisTLS.handler(for: configuration))
                    }
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler())
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                throw RedisError(
                    .connectionFailed, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
            }
            .flatMap { channel in
                Self.handshake(channel, configuration: configuration)
                    .map { channel }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return eventLoop.makeFailedFuture(Self.tlsExplained(error, configuration: configuration))
                    }
            }
            .flatMapThrowing { channel in
                let (published, recovered) = self.state.withLock { state in
                    guard case .connecting(id, _) = state.connection else { return (false, false) }
                    state.connection = .connected(id: id, channel)
                    state.checked = .now
                    defer { state.unreachable = false }
                    return (true, state.unreachable)
                }
                guard published else {
                    channel.close(promise: nil)
                    throw RedisError(.clientClosed, "the client was closed")
                }
                if recovered {
                    logger.info("redis reachable again", metadata: ["connection": "\(id)"])
                } else {
                    logger.debug("redis connected", metadata: ["connection": "\(id)"])
                }
                channel.closeFuture.whenComplete { _ in
                    self.state.withLock { state in
                        if case .connected(id, _) = state.connection { state.connection = .idle }
                    }
                    logger.debug("redis connection closed", metadata: ["connection": "\(id)"])
                }
                return channel
            }
            .flatMapErrorThrowing { error in
                let first = self.state.withLock { state in
                    if case .connecting(id, _) = state.connection { state.connection = .idle }
                    defer { state.unreachable = true }
                    return !state.unreachable
                }
                logger.log(
                    level: first ? .warning : .debug, "redis connection failed", metadata: ["error": "\(error)"])
                throw error
            }
    }

    /// `AUTH` and `SELECT`, pipelined, when the configuration asks for them,
    /// then `INFO`: a replica (`ReplicationRole`) and a server that may evict
    /// keys (`EvictionPolicy`) are refused.
    private static func handshake(_ channel: any Channel, configuration: Configuration) -> EventLoopFuture<Void> {
        var steps: [(name: String, command: [any RedisArgument])] = []
        if let password = configuration.password {
            steps.append(("AUTH", ["AUTH"] + (configuration.username.map { [$0] } ?? []) + [password]))
        }
        if configuration.database != 0 {
            steps.append(("SELECT \(configuration.database)", ["SELECT", configuration.database]))
        }
        let replies = steps.map { step in
            var command = ByteBuffer()
            command.writeRedisCommand(step.command)
            return execute(command, on: channel, timeout: configuration.commandTimeout)
                .flatMapErrorThrowing { error in
                    // TLS fails on the first command sent; that is not the command's failure.
                    if let error = error as? RedisError, error.code == .tlsFailed { throw error }
                    throw RedisError(.connectionFailed, "\(step.name) failed: \(Self.describe(error))")
                }
                .flatMapThrowing { value in
                    if case .error(let message) = value {
                        throw RedisError(.connectionFailed, "\(step.name) failed: \(message)")
                    }
                }
        }
        var info = ByteBuffer()
        info.writeRedisCommand(["INFO"])
        let checked = execute(info, on: channel, timeout: configuration.commandTimeout).flatMapThrowing { value in
            if let refusal = RedisInfo.refusal(value) {
                throw RedisError(.connectionFailed, refusal)
            }
        }
        return EventLoopFuture.andAllSucceed(replies + [checked], on: channel.eventLoop)
    }

    /// A TLS failure during the handshake's first command, as itself (not
    /// "AUTH failed"), with what the server's certificate must satisfy.
    private static func tlsExplained(_ error: any Error, configuration: Configuration) -> any Error {
        guard let error = error as? RedisError, error.code == .tlsFailed else { return error }
        let roots = configuration.tlsCAPath.map { "the CA in \($0) (SCEPTER_REDIS_CA_PATH)" } ?? "the system's trusted roots (or set SCEPTER_REDIS_CA_PATH)"
        return RedisError(
            .tlsFailed,
            "\(error.message); the server at \(configuration.host):\(configuration.port) must speak TLS there, "
                + "with a certificate that chains to \(roots) and names \(configuration.host)")
    }

    private static func describe(_ error: any Error) -> String {
        (error as? RedisError).map { "\($0.code): \($0.message)" } ?? "\(error)"
    }
}
