import CBenchSupport
import Foundation
import Synchronization

/// Runs `body(index)` on `count` new threads, each pinned to `cpu` (nil: any
/// CPU), and waits for all of them. Plain threads, not the Swift concurrency
/// pool: their CPU placement is then exactly what we ask for.
func runThreads(_ count: Int, cpu: Int?, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            _ = bench_pin_current_thread(Int32(cpu ?? -1))
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

/// A shared work-item counter.
final class WorkCounter: Sendable {
    private let next = Atomic<Int>(0)
    func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Results that threads append to.
final class Collector<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ new: [Element]) { items.withLock { $0.append(contentsOf: new) } }
    var all: [Element] { items.withLock { $0 } }
}

enum Clock {
    static func monotonicSeconds() -> Double { Double(bench_monotonic_ns()) / 1e9 }
    static func threadCPUNanoseconds() -> Int64 { bench_thread_cpu_ns() }
    static func monotonicNanoseconds() -> Int64 { bench_monotonic_ns() }
}
