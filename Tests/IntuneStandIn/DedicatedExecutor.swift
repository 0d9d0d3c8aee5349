import Dispatch

/// Runs the stand-in's tasks on a dispatch queue of their own instead of the
/// cooperative pool the tests share (two threads here). Microsoft's services
/// do not wait for the test process's threads, and their stand-in must not
/// either: with hundreds of tests starting at once, a request to it waited
/// for a pool thread longer than the client's deadline.
final class DedicatedExecutor: TaskExecutor {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
