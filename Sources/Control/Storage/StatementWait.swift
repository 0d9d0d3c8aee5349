import NIOCore
import PostgresNIO
import Synchronization

/// What `CancellableWait` throws when the connection closed before the answer came.
struct CancellableWaitClosed: Swift.Error {}

/// Awaits a future, or gives up with `CancellationError` when the task is
/// cancelled first, or with `CancellableWaitClosed` when `closing` fires first
/// (the future's eventual result is then dropped).
///
/// postgres-nio never completes a statement whose write reached a channel
/// that had just closed; a wait on a connection therefore also ends with
/// the connection, so a statement sent in that instant cannot hang.
final class CancellableWait<Value: Sendable>: Sendable {
    private enum State {
        case idle
        /// Finished before it began to wait (cancelled, or the connection already closed).
        case finishedEarly(Result<Value, any Swift.Error>)
        case waiting(CheckedContinuation<Value, any Swift.Error>)
        case finished
    }

    private let state = Mutex(State.idle)

    func value(of future: EventLoopFuture<Value>, closing: ClosingSignal? = nil) async throws -> Value {
        let registration = closing?.onClose { self.finish(.failure(CancellableWaitClosed())) }
        defer { if let registration { closing?.remove(registration) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let early = state.withLock { state -> Result<Value, any Swift.Error>? in
                    switch state {
                    case .idle:
                        state = .waiting(continuation)
                        return nil
                    case .finishedEarly(let result):
                        state = .finished
                        return result
                    case .waiting, .finished:
                        return .failure(CancellationError())
                    }
                }
                if let early { return continuation.resume(with: early) }
                future.whenComplete { self.finish($0) }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
        }
    }

    private func finish(_ result: Result<Value, any Swift.Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Swift.Error>? in
            switch state {
            case .idle:
                state = .finishedEarly(result)
                return nil
            case .waiting(let continuation):
                state = .finished
                return continuation
            case .finishedEarly, .finished:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

/// Tells the statements waiting on one connection that it closed.
///
/// A connection runs statements for hours, and a callback registered on its
/// `closeFuture` stays registered until it closes. One callback per statement
/// therefore held memory for every statement the connection had ever run
/// (about 30 000 closures in a control plane after seven minutes of the
/// soak). So each connection gets one callback, kept by `ConnectionClosings`,
/// and a statement registers here only while it waits.
final class ClosingSignal: Sendable {
    private struct State {
        var closed = false
        var next = 0
        var waiting: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    /// Calls `closed` once when the connection closes, at once if it has.
    /// Returns the registration for `remove`, nil when it ran at once.
    func onClose(_ closed: @escaping @Sendable () -> Void) -> Int? {
        let registration = state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.next += 1
            state.waiting[state.next] = closed
            return state.next
        }
        if registration == nil { closed() }
        return registration
    }

    func remove(_ registration: Int) {
        state.withLock { _ = $0.waiting.removeValue(forKey: registration) }
    }

    /// Runs every registered callback; later registrations run at once.
    func close() {
        let callbacks = state.withLock { state in
            state.closed = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for callback in callbacks { callback() }
    }

    /// How many statements wait on the connection now.
    var waiting: Int { state.withLock { $0.waiting.count } }
}

/// The `ClosingSignal` of each open connection, made on its first statement
/// and dropped when it closes.
final class ConnectionClosings: Sendable {
    private let signals = Mutex<[ObjectIdentifier: ClosingSignal]>([:])

    func signal(for connection: PostgresConnection) -> ClosingSignal {
        let key = ObjectIdentifier(connection)
        let (signal, isNew) = signals.withLock { signals in
            if let signal = signals[key] { return (signal, false) }
            let signal = ClosingSignal()
            signals[key] = signal
            return (signal, true)
        }
        if isNew {
            // Holds the connection until it closes, so its identifier is not reused while the entry exists.
            connection.closeFuture.whenComplete { _ in
                self.signals.withLock { signals in
                    if signals[key] === signal { signals.removeValue(forKey: key) }
                }
                signal.close()
            }
        }
        return signal
    }

    /// Open connections that have run a statement.
    var count: Int { signals.withLock { $0.count } }

    /// Statements waiting, on all connections.
    var waiting: Int { signals.withLock { $0.values.reduce(0) { $0 + $1.waiting } } }
}
