import Foundation
import Synchronization

/// A continuation several racers may try to resume (a reader thread, a
/// deadline): the first value wins, later ones are dropped.
public final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

    public init() {}

    /// Waits for the first `resume`; `setup` starts the racers, and
    /// `timeout` later `fallback` is resumed if nothing else was.
    public static func wait(timeout: TimeInterval, fallback: Value, _ setup: (ResumeOnce<Value>) -> Void) async -> Value {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce<Value>()
            once.continuation.withLock { $0 = continuation }
            setup(once)
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { once.resume(fallback) }
        }
    }

    public func resume(_ value: Value) {
        continuation.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }?.resume(returning: value)
    }
}
