import Foundation
import Synchronization

/// Open-loop load: request i is due at `start + i / rate`, whatever happened
/// to the ones before it, and its latency counts from that scheduled time, so
/// a slow server shows in the percentiles instead of slowing the arrivals
/// (no coordinated omission). `connections` threads, each with its own
/// keep-alive connection, take the next due request as soon as they are free
/// and sleep until it is due. A request no connection was free for at its
/// time "missed its slot" (it is still sent, late, and the lateness is in its
/// latency); one sent more than `slotTolerance` late although a connection
/// was waiting for it shows the load generator's own scheduling delay (its
/// CPU is busy), counted apart.
///
/// With `retryFor`, a request that is not answered SUCCESS (connection
/// refused or dropped, no reply within `replyTimeout`, HTTP 503, PENDING,
/// FAILURE) is sent again, the same message (a retransmission is idempotent
/// by transactionID), on the next edge, after a short backoff, until it
/// succeeds or `retryFor` seconds after its scheduled time.
enum OpenLoop {
    enum Problem: String, CaseIterable, Sendable {
        case connection = "connection refused or dropped"
        case timeout = "no reply within the timeout"
        case unavailable = "HTTP 503"
        case otherStatus = "other HTTP status"
        case pending = "PENDING CertRep"
        case failure = "FAILURE CertRep"
        case badReply = "unreadable or mismatched reply"
    }

    struct Settings: Sendable {
        var rate: Double
        var count: Int
        var connections: Int
        var ports: [UInt16]
        var cpu: Int?
        /// nil: no retries; a request not answered SUCCESS at once is a failure.
        var retryFor: Double?
        var replyTimeout: Double = 30
        var slotTolerance: Double = 0.002
    }

    struct Request: Sendable {
        var index: Int
        var transactionID: String
        /// Seconds from the run's start.
        var scheduled: Double
        /// Sent this long after its scheduled time (ms).
        var lateMilliseconds: Double
        /// No connection was free at its scheduled time.
        var missedSlot = false
        /// From the scheduled time to the SUCCESS reply, retries included (ms).
        var latencyMilliseconds: Double
        var attempts: Int
        var answered: Bool
        /// Why the last attempt failed, when it did.
        var problem: String?
    }

    /// Counters the soak prints while the load runs.
    final class Live: Sendable {
        let done = Atomic<Int>(0)
        let retries = Atomic<Int>(0)
        let unanswered = Atomic<Int>(0)
    }

    struct Result: Sendable {
        var requests: [Request]
        var retries: [Problem: Int]
        var wallSeconds: Double
        var slotTolerance: Double

        var answered: [Request] { requests.filter(\.answered) }
        var unanswered: [Request] { requests.filter { !$0.answered } }
        var missedSlots: Int { requests.filter(\.missedSlot).count }
        /// Sent late although a connection was ready: the load generator's scheduling delay.
        var lateWakeups: Int { requests.filter { !$0.missedSlot && $0.lateMilliseconds > slotTolerance * 1000 }.count }
        var maxLateMilliseconds: Double { requests.map(\.lateMilliseconds).max() ?? 0 }
        var sortedLatencies: [Double] { answered.map(\.latencyMilliseconds).sorted() }
        var totalRetries: Int { retries.values.reduce(0, +) }

        func latencySummary() -> String {
            let sorted = sortedLatencies
            return String(
                format: "p50 / p99 / max %.1f / %.1f / %.1f ms", percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last ?? 0)
        }

        /// The `count` one-second windows (by scheduled time) with the highest latency: "at 12 s: 164 requests, max 310.2 ms".
        func worstSeconds(_ count: Int) -> [String] {
            let buckets = Dictionary(grouping: answered) { Int($0.scheduled) }
            return buckets.map { ($0.key, $0.value.count, $0.value.map(\.latencyMilliseconds).max() ?? 0) }
                .sorted { $0.2 > $1.2 }.prefix(count)
                .map { String(format: "at %d s: %d requests, max %.1f ms", $0.0, $0.1, $0.2) }
        }

        func retrySummary() -> String {
            guard totalRetries > 0 else { return "none" }
            return Problem.allCases.compactMap { problem in retries[problem].map { "\($0) after \(problem.rawValue)" } }.joined(separator: ", ")
        }
    }

    /// Runs the schedule; `message(i)` makes request i (called on the worker
    /// threads ahead of its time). Returns when every request has ended.
    static func run(_ settings: Settings, live: Live = Live(), message: @escaping @Sendable (Int) throws -> Enrollment) -> Result {
        let counter = WorkCounter()
        let collected = Collector<Request>()
        let retryCounts = Mutex<[Problem: Int]>([:])
        let start = Clock.monotonicSeconds() + 0.2
        let threads = min(settings.connections, settings.count)
        runThreads(threads, cpu: settings.cpu) { thread in
            var portIndex = thread
            var connection = HTTPConnection(port: settings.ports[portIndex % settings.ports.count], timeout: settings.replyTimeout)
            var local: [Request] = []
            var localRetries: [Problem: Int] = [:]
            while true {
                let index = counter.take()
                guard index < settings.count else { break }
                let scheduled = start + Double(index) / settings.rate
                let missedSlot = Clock.monotonicSeconds() > scheduled
                let enrollment: Enrollment
                do {
                    enrollment = try message(index)
                } catch {
                    local.append(Request(
                        index: index, transactionID: "", scheduled: scheduled - start, lateMilliseconds: 0, latencyMilliseconds: 0,
                        attempts: 0, answered: false, problem: "could not make the message: \(error)"))
                    continue
                }
                sleep(until: scheduled)
                let sent = Clock.monotonicSeconds()
                var attempts = 0
                var request = Request(
                    index: index, transactionID: enrollment.transactionID, scheduled: scheduled - start,
                    lateMilliseconds: (sent - scheduled) * 1000, missedSlot: missedSlot, latencyMilliseconds: 0, attempts: 0, answered: false)
                while true {
                    attempts += 1
                    let problem: (Problem, String)?
                    do {
                        let response = try connection.post("/scep?operation=PKIOperation", contentType: "application/x-pki-message", body: enrollment.body)
                        problem = classify(response, enrollment: enrollment)
                    } catch let error as HTTPConnection.ReplyTimeout {
                        problem = (.timeout, "\(error)")
                        connection.close()
                    } catch {
                        problem = (.connection, "\(error)")
                        connection.close()
                    }
                    let now = Clock.monotonicSeconds()
                    guard let problem else {
                        request.answered = true
                        request.latencyMilliseconds = (now - scheduled) * 1000
                        break
                    }
                    request.problem = "\(problem.0.rawValue): \(problem.1)"
                    guard let retryFor = settings.retryFor, now - scheduled < retryFor else {
                        request.latencyMilliseconds = (now - scheduled) * 1000
                        live.unanswered.wrappingAdd(1, ordering: .relaxed)
                        break
                    }
                    localRetries[problem.0, default: 0] += 1
                    live.retries.wrappingAdd(1, ordering: .relaxed)
                    usleep(UInt32(min(1.0, 0.05 * Double(1 << min(attempts, 5))) * 1e6))
                    // The next edge, as a device behind a load balancer would reach.
                    portIndex += 1
                    connection = HTTPConnection(port: settings.ports[portIndex % settings.ports.count], timeout: settings.replyTimeout)
                }
                request.attempts = attempts
                local.append(request)
                live.done.wrappingAdd(1, ordering: .relaxed)
            }
            collected.append(local)
            retryCounts.withLock { total in for (problem, count) in localRetries { total[problem, default: 0] += count } }
        }
        let wall = Clock.monotonicSeconds() - start
        return Result(
            requests: collected.all.sorted { $0.index < $1.index }, retries: retryCounts.withLock { $0 }, wallSeconds: wall,
            slotTolerance: settings.slotTolerance)
    }

    /// nil for a SUCCESS CertRep echoing the request; otherwise what is wrong.
    static func classify(_ response: HTTPConnection.Response, enrollment: Enrollment) -> (Problem, String)? {
        guard response.status == 200 else {
            let text = String(decoding: response.body.prefix(120), as: UTF8.self)
            return (response.status == 503 ? .unavailable : .otherStatus, "HTTP \(response.status) \(text)")
        }
        do {
            let header = try SCEPMessages.header(ofReply: response.body)
            guard header.messageType == "3" else { return (.badReply, "messageType \(header.messageType ?? "none")") }
            guard header.transactionID == enrollment.transactionID, header.recipientNonce == enrollment.senderNonce else {
                return (.badReply, "transactionID or nonce not echoed")
            }
            switch header.pkiStatus {
            case "0": return nil
            case "3": return (.pending, "pkiStatus PENDING")
            default: return (.failure, "pkiStatus \(header.pkiStatus ?? "none"), failInfo \(header.failInfo ?? "none")")
            }
        } catch {
            return (.badReply, "\(error)")
        }
    }

    private static func sleep(until deadline: Double) {
        while true {
            let remaining = deadline - Clock.monotonicSeconds()
            if remaining <= 0 { return }
            usleep(UInt32(min(remaining, 1) * 1e6))
        }
    }
}
