import Synchronization

extension SQLiteStore {
    /// Embedded mode's transactions, committed together: writes that arrive
    /// while a commit waits to run join it.
    ///
    /// In WAL mode each commit appends every page it changed to the log. One
    /// enrollment writes twice: its certificate, enrollment and provisional
    /// audit row, then the edge's audit event. The two commits touch about
    /// thirty 4 KiB pages of tables and indexes. Enrollments that commit
    /// together share the pages they both change: the tables' last pages and
    /// the time-ordered indexes. Four together write about half as many pages
    /// as four alone, and take the file's locks once. Savepoints journal the
    /// pages they change; `temp_store=MEMORY` (set at open) keeps that
    /// journal in memory instead of a new temporary file per transaction.
    ///
    /// The first write to arrive starts the commit as a new task. Writes that
    /// arrive before that task runs, or while it waits for the connection,
    /// join it. Each write runs in its own savepoint. A write that throws is
    /// rolled back alone and its caller gets its error; the others commit.
    /// Every caller returns after the COMMIT that holds its write, or with
    /// the error that kept it out. So a write that returned is as durable as
    /// one committed alone.
    ///
    /// The new task is the window in which writes can join, and its cost is
    /// paid even when none do: one request at a time measured 1.9–2.5 % more
    /// CPU per enrollment in two pairs (inside this machine's noise), against
    /// −10 % at concurrency 16 (Benchmarks/HISTORY.md, "Writes committed
    /// together").
    final class GroupCommit: Sendable {
        private let database: SQLiteDatabase
        /// The store's lock: one operation at a time on the one connection.
        private let lock: AsyncLock
        private let waiting = Mutex(Waiting())
        private let commits = Atomic<Int>(0)

        private struct Waiting {
            var writes: [any PendingWrite] = []
            /// A task will take `writes`.
            var commitStarted = false
        }

        init(database: SQLiteDatabase, lock: AsyncLock) {
            self.database = database
            self.lock = lock
        }

        /// Runs `body` in a transaction, possibly shared with other writes;
        /// returns once that transaction has committed.
        func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
            try await withCheckedThrowingContinuation { continuation in
                let write = Write(operation: operation, body: body, continuation: continuation)
                let startCommit = waiting.withLock { waiting in
                    waiting.writes.append(write)
                    let first = !waiting.commitStarted
                    waiting.commitStarted = true
                    return first
                }
                if startCommit { Task { await self.commitWaiting() } }
            }
        }

        /// Writes waiting for the next commit.
        var waitingCount: Int { waiting.withLock { $0.writes.count } }

        /// Transactions committed since the store opened.
        var committedCount: Int { commits.load(ordering: .relaxed) }

        private func commitWaiting() async {
            await lock.withLock {
                let writes = waiting.withLock { waiting in
                    let writes = waiting.writes
                    waiting = Waiting()
                    return writes
                }
                guard !writes.isEmpty else { return }
                let failure = await commit(writes)
                for write in writes { write.finish(committed: failure) }
            }
        }

        /// Runs `writes` in one transaction. Returns the error that kept the
        /// transaction from committing, or nil once it has.
        private func commit(_ writes: [any PendingWrite]) async -> (any Error)? {
            let label = writes.count == 1 ? writes[0].operation : "\(writes[0].operation) and \(writes.count - 1) other writes committed together"
            func statement(_ sql: String) throws(SQLiteError) { _ = try database.run(sql, [], doing: "\(label): \(sql)") }
            func rollBack() { try? statement("ROLLBACK") }
            do {
                try statement("BEGIN IMMEDIATE")
                if writes.count == 1 {
                    guard await writes[0].run(on: Executor(database: database, operation: label)) else {
                        rollBack()
                        return nil
                    }
                } else {
                    for write in writes {
                        try statement("SAVEPOINT write")
                        if await write.run(on: Executor(database: database, operation: write.operation)) {
                            try statement("RELEASE write")
                        } else {
                            try statement("ROLLBACK TO write")
                            try statement("RELEASE write")
                        }
                    }
                }
                try statement("COMMIT")
                commits.add(1, ordering: .relaxed)
                return nil
            } catch {
                rollBack()
                return error
            }
        }
    }
}

/// One caller's write, waiting for its commit.
private protocol PendingWrite: AnyObject, Sendable {
    var operation: String { get }
    /// Runs the write's statements and keeps what they returned or threw;
    /// false if they threw.
    func run(on executor: any SQLExecutor) async -> Bool
    /// Resumes the caller: with the write's own error, with `committed` (the
    /// transaction's), or with what the write returned.
    func finish(committed failure: (any Error)?)
}

private final class Write<T: Sendable>: PendingWrite, @unchecked Sendable {
    // @unchecked: `outcome` is set by `run` and read by `finish`, both from the one task that commits.
    let operation: String
    private let body: @Sendable (any SQLExecutor) async throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private var outcome: Result<T, any Error>?

    init(operation: String, body: @escaping @Sendable (any SQLExecutor) async throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.operation = operation
        self.body = body
        self.continuation = continuation
    }

    func run(on executor: any SQLExecutor) async -> Bool {
        do {
            outcome = .success(try await body(executor))
            return true
        } catch {
            outcome = .failure(error)
            return false
        }
    }

    func finish(committed failure: (any Error)?) {
        switch (outcome, failure) {
        case (.failure(let error)?, _): continuation.resume(throwing: error)
        case (.success(let value)?, nil): continuation.resume(returning: value)
        case (_, let failure?): continuation.resume(throwing: failure)
        case (nil, nil): continuation.resume(throwing: WriteNotRun(operation: operation))
        }
    }
}

/// A write left out of a transaction that committed. Cannot happen: every
/// write runs before its transaction commits.
private struct WriteNotRun: Error, CustomStringConvertible {
    let operation: String
    var description: String { "\(operation): left out of the transaction that should have held it" }
}
