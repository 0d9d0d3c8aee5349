import Foundation
import Synchronization
import ScepterProtocol

/// The state store of embedded mode and single-edge tests: process-local,
/// bounded in memory, entries expire.
package final class InMemoryStateStore: StateStore {
    private struct State {
        /// replay key -> (use, expiry)
        var replay: [String: (use: String, expires: Date)] = [:]
        /// device key -> admission times, oldest first
        var windows: [String: [Date]] = [:]
        var operations = 0
        /// bucket -> (tokens, refilled at)
        var buckets: [String: (tokens: Double, at: Date)] = [:]
    }

    private let state = Mutex(State())
    /// Upper bound on remembered replay keys and device windows each.
    package let capacity: Int

    package init(capacity: Int = 200_000) {
        self.capacity = capacity
    }

    package func admit(_ admission: Admission) async throws -> AdmissionResult {
        state.withLock { state in
            state.operations += 1
            if state.operations % 1024 == 0 || state.replay.count >= capacity {
                Self.expire(&state, now: admission.now, window: admission.window)
            }
            if let existing = state.replay[admission.replayKey], existing.expires > admission.now {
                return existing.use == admission.use ? .retransmission : .replay
            }
            if let device = admission.deviceKey, admission.rateLimit > 0 {
                let since = admission.now.addingTimeInterval(-admission.window.timeInterval)
                let recent = (state.windows[device] ?? []).filter { $0 > since }
                if recent.count >= admission.rateLimit {
                    state.windows[device] = recent
                    return .rateLimited
                }
                state.windows[device] = recent + [admission.now]
            }
            // At capacity after expiry the oldest keys go first; a key evicted
            // early could be replayed, so capacity should exceed the fleet's
            // enrollments per validity window.
            if state.replay.count >= capacity,
                let oldest = state.replay.min(by: { $0.value.expires < $1.value.expires })?.key
            {
                state.replay.removeValue(forKey: oldest)
            }
            state.replay[admission.replayKey] = (admission.use, admission.now.addingTimeInterval(admission.replayTTL.timeInterval))
            return .admitted
        }
    }

    package func problem() async -> String? { nil }

    package func take(_ bucket: String, capacity: Int, now: Date) async throws -> Duration? {
        let remembered = self.capacity
        return state.withLock { state in
            if state.buckets.count >= remembered {
                // A bucket that has refilled carries nothing worth keeping.
                let perSecond = Double(capacity) / 60
                state.buckets = state.buckets.filter { $0.value.tokens + now.timeIntervalSince($0.value.at) * perSecond < Double(capacity) }
                if state.buckets.count >= remembered { state.buckets.removeAll() }
            }
            let perSecond = Double(capacity) / 60
            let stored = state.buckets[bucket] ?? (Double(capacity), now)
            let tokens = min(Double(capacity), stored.tokens + max(0, now.timeIntervalSince(stored.at)) * perSecond)
            guard tokens >= 1 else { return .milliseconds(Int64(((1 - tokens) / perSecond * 1000).rounded(.up))) }
            state.buckets[bucket] = (tokens - 1, now)
            return nil
        }
    }

    /// Number of remembered replay keys (for tests and metrics).
    package var replayKeyCount: Int { state.withLock { $0.replay.count } }

    private static func expire(_ state: inout State, now: Date, window: Duration) {
        state.replay = state.replay.filter { $0.value.expires > now }
        let since = now.addingTimeInterval(-window.timeInterval)
        state.windows = state.windows.compactMapValues { times in
            let recent = times.filter { $0 > since }
            return recent.isEmpty ? nil : recent
        }
    }
}
