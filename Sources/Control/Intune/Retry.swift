/// Retries of calls that are safe to repeat (token, discovery, notifications,
/// revocation): transient failures only, with backoff, honouring Retry-After.
enum Retry {
    /// Attempts per call, the first included.
    static let attempts = 3
    /// Longest wait between attempts: a Retry-After beyond it is cut short, so
    /// a device is not held for minutes (the breaker takes over instead).
    static let longestWait = Duration.seconds(5)

    static func transient<Value>(
        call: IntuneAPIError.Call, attempts: Int = Retry.attempts, _ operation: () async throws(IntuneAPIError) -> Value
    ) async throws(IntuneAPIError) -> Value {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                // Only this call's own failures: a token request inside it was retried already.
                guard error.isTransient, error.code != .breakerOpen, error.call == call, attempt < attempts else { throw error }
                try await pause(before: attempt + 1, after: error, call: call)
                attempt += 1
            }
        }
    }

    /// 250 ms, 500 ms, …, or the Retry-After Microsoft asked for, at most `longestWait`.
    static func pause(before attempt: Int, after error: IntuneAPIError, call: IntuneAPIError.Call) async throws(IntuneAPIError) {
        var wait = Duration.milliseconds(250 * (1 << min(attempt - 2, 4)))
        if case .throttled(let retryAfter?) = error.code { wait = retryAfter }
        do {
            try await Task.sleep(for: min(wait, longestWait))
        } catch {
            throw IntuneAPIError(.unreachable, call: call, "cancelled while waiting to retry")
        }
    }
}
