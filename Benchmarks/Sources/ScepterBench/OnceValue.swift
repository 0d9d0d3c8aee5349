import Foundation

/// A value one thread sets once and another waits for, with a deadline.
final class OnceValue<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `condition`.
    private var value: Value
    private var isSet = false
    private let condition = NSCondition()

    init(_ initial: Value) { value = initial }

    func set(_ new: Value) {
        condition.lock()
        value = new
        isSet = true
        condition.broadcast()
        condition.unlock()
    }

    /// The value once set, or what it holds when `timeout` seconds have passed.
    func waitForValue(timeout: Double) -> Value {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while !isSet && condition.wait(until: deadline) {}
        return value
    }
}
