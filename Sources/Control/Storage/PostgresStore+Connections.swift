import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Connections, statements and transactions, each bounded in time.
extension PostgresStore {
    /// Runs `body` on a pooled connection, within the configured limits.
    func withConnection<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try ensureOpen(operation)
        return try await bounded(operation, budget: configuration.queryTimeout + .seconds(1)) { attempt in
            // The pool may lend a connection the server closed a moment ago
            // (a restart, pg_terminate_backend) before it noticed: nothing was
            // sent on it, so take another, a few times.
            for _ in 0..<3 {
                do {
                    return try await self.client.withConnection { connection in
                        guard !connection.isClosed else { throw StaleConnection() }
                        attempt.connected(connection)
                        return try await withTaskCancellationHandler {
                            try await body(connection)
                        } onCancel: {
                            connection.closeNow()
                        }
                    }
                } catch is StaleConnection {
                    continue
                } catch where attempt.connectedAt == nil && !(error is CancellationError) {
                    throw self.leaseFailed(operation, error)
                }
            }
            throw Error(code: .unavailable, "\(operation): the pool lent only closed connections to PostgreSQL at \(self.configuration.endpoint)")
        }
    }

    /// A lent connection that was closed before anything was sent on it.
    private struct StaleConnection: Swift.Error {}

    /// Translates the pool's refusal to lend a connection.
    private func leaseFailed(_ operation: String, _ error: any Swift.Error) -> Error {
        let current = phase.withLock { $0 }
        if current == .stopping || current == .stopped {
            return Error(code: .shutDown, "\(operation): the store is shut down")
        }
        if let error = error as? PSQLError {
            return Error(error, doing: "\(operation): getting a connection", at: configuration)
        }
        return Error(code: .unavailable, "\(operation): no connection from the pool for PostgreSQL at \(configuration.endpoint) (\(error))")
    }

    /// Races `work` against the clock: it has `connectTimeout` to get its
    /// connection, then `budget` from then on. Past the first it is
    /// cancelled; past the second its connection is closed, and whatever the
    /// server had answered by then still counts (a statement_timeout error,
    /// say), while a failure caused by the close reports the deadline. The
    /// deadlines are event-loop timers (`LoopTimer`), disarmed when `work` ends.
    func bounded<T: Sendable>(
        _ operation: String, budget: Duration, _ work: @escaping @Sendable (Attempt) async throws -> T
    ) async throws -> T {
        let attempt = Attempt()
        let task = Task {
            do {
                return try await work(attempt)
            } catch {
                throw attempt.explain(error)
            }
        }
        attempt.arm(after: configuration.connectTimeout) {
            // Still without a connection: stop waiting for one.
            guard let connectedAt = attempt.connectedAt else {
                attempt.expire(self.unavailable(operation))
                task.cancel()
                return
            }
            // With one: closing it at the deadline ends the work by itself.
            attempt.arm(after: connectedAt + budget - .now) {
                attempt.expire(
                    Error(
                        code: .timedOut,
                        "\(operation): no answer from PostgreSQL at \(self.configuration.endpoint) within \(Self.describe(budget)); connection closed"))
            }
        }
        defer { attempt.finish() }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    private func unavailable(_ operation: String) -> Error {
        let current = phase.withLock { $0 }
        let hint =
            if operation == "migrate" {
                "server down or unreachable"
            } else if current == .idle {
                "PostgresStore.run() has not started"
            } else {
                "server down or unreachable, or all \(configuration.maximumConnections) pooled connections busy"
            }
        return Error(
            code: .unavailable,
            "\(operation): no connection to PostgreSQL at \(configuration.endpoint) (database \(configuration.database), user \(configuration.username)) within \(Self.describe(configuration.connectTimeout)): \(hint)")
    }

    /// Runs `body` between BEGIN and COMMIT; anything thrown rolls back.
    func transaction(on connection: PostgresConnection, _ operation: String, _ body: () async throws -> Void) async throws {
        try await execute("BEGIN", on: connection, "\(operation): BEGIN")
        do {
            try await body()
        } catch {
            // A closed connection has rolled back on the server already.
            if !connection.isClosed {
                do {
                    try await execute("ROLLBACK", on: connection, "\(operation): ROLLBACK")
                } catch {
                    // Unknown transaction state: the pool must not lend this connection again.
                    connection.closeNow()
                }
            }
            throw error
        }
        try await execute("COMMIT", on: connection, "\(operation): COMMIT")
    }

    /// Runs one statement and reads all its rows, translating errors.
    @discardableResult
    func execute(_ query: PostgresQuery, on connection: PostgresConnection, _ doing: @autoclosure () -> String) async throws -> [PostgresRow] {
        try await answer(on: connection, doing()) { connection.query(query, logger: logger) }.rows
    }

    /// Sends a statement with `send` and waits for its answer, translating errors.
    ///
    /// postgres-nio never answers a statement sent on a connection that has
    /// closed (its channel handler is gone): a closed connection is refused
    /// before `send`, and the wait ends when the connection closes or the
    /// task is cancelled, so the deadlines of `bounded` can always end an
    /// operation.
    func answer<Value: Sendable>(
        on connection: PostgresConnection, _ doing: @autoclosure () -> String, send: () -> EventLoopFuture<Value>
    ) async throws -> Value {
        guard !connection.isClosed else {
            throw Error(code: .unavailable, "\(doing()): the connection to PostgreSQL at \(configuration.endpoint) is closed")
        }
        do {
            return try await CancellableWait<Value>().value(of: send(), closing: closings.signal(for: connection))
        } catch let error as PSQLError {
            let translated = Error(error, doing: doing(), at: configuration)
            if translated.sqlState == Error.readOnlyTransaction { await Self.retire(connection) }
            throw translated
        } catch is CancellableWaitClosed {
            throw Error(code: .unavailable, "\(doing()): the connection to PostgreSQL at \(configuration.endpoint) closed before it answered")
        }
    }

    /// Closes a session that cannot write (a standby's, or one opened while
    /// the database was read-only: sessions keep the setting they began
    /// with), so the pool's next connection reaches whatever
    /// `SCEPTER_DATABASE_URL` names now, with the settings of now.
    /// Awaited before the connection goes back to the pool, so it is not lent again.
    static func retire(_ connection: PostgresConnection) async {
        try? await connection.close()
    }

    /// "5 s", "250 ms".
    static func describe(_ duration: Duration) -> String {
        let milliseconds = Configuration.milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// One bounded operation: when it got its connection, whether its time ran
/// out, and its pending deadline. Once finished, no deadline touches it: its
/// connection is back in the pool, lent to another operation.
final class Attempt: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var connectedAt: ContinuousClock.Instant?
        var expiry: PostgresStore.Error?
        var deadline: LoopTimer?
        var finished = false
    }

    private let state = Mutex(State())

    func connected(_ connection: PostgresConnection) {
        let expired = state.withLock { state in
            state.connection = connection
            state.connectedAt = .now
            return state.expiry != nil
        }
        if expired { connection.closeNow() }
    }

    var connectedAt: ContinuousClock.Instant? { state.withLock { $0.connectedAt } }

    /// Runs `expired` after `delay`, in place of the deadline armed before; not once finished.
    func arm(after delay: Duration, _ expired: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard !state.finished else { return }
            state.deadline?.cancel()
            state.deadline = LoopTimer(after: delay, expired)
        }
    }

    /// The work has ended: disarms the deadline.
    func finish() {
        let deadline = state.withLock { state in
            state.finished = true
            return state.deadline.take()
        }
        deadline?.cancel()
    }

    /// Records the deadline's error and closes the connection, if any; nothing once finished.
    func expire(_ error: PostgresStore.Error) {
        let connection = state.withLock { state -> PostgresConnection? in
            guard !state.finished else { return nil }
            state.expiry = error
            return state.connection
        }
        connection?.closeNow()
    }

    /// The error to report for `error`: the deadline's when the expiry caused it.
    func explain(_ error: any Swift.Error) -> any Swift.Error {
        guard let expiry = state.withLock({ $0.expiry }) else { return error }
        if error is CancellationError { return expiry }
        if let error = error as? PostgresStore.Error, error.code == .unavailable || error.code == .shutDown { return expiry }
        return error
    }
}

extension PostgresConnection {
    /// Closes the channel without waiting: queries in flight fail at once.
    func closeNow() {
        let _: EventLoopFuture<Void> = close()
    }
}

/// A `timestamptz` rounded to whole milliseconds, as `Timestamp` does for SQLite.
