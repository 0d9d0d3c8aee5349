import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import ScepterProtocol

/// Reloads every Intune profile's trust anchors (and has the CA chains fetched again) on SIGHUP, or when the
/// cluster asks (`EdgeHeartbeatService`), and remembers the last report.
package final class TrustAnchorReloader: Service {
    let stores: [(profile: String, store: TrustAnchorStore)]
    let metrics: EdgeMetrics
    let logger: Logger
    let edgeID: String
    /// What else a reload refreshes (the CA chains cached from the control plane).
    let alsoOnReload: @Sendable () -> Void
    private let last = Mutex<ReloadReport?>(nil)

    /// Publishes the anchors loaded at boot as metrics.
    package init(
        configuration: EdgeConfiguration, metrics: EdgeMetrics, logger: Logger, alsoOnReload: @escaping @Sendable () -> Void = {},
        now: Date = Date()
    ) {
        self.alsoOnReload = alsoOnReload
        self.stores = configuration.profiles.values.sorted { $0.name < $1.name }.compactMap { profile in
            profile.intune.map { (profile.name, $0.anchors) }
        }
        self.metrics = metrics
        self.logger = logger
        self.edgeID = configuration.edgeID
        for (profile, store) in stores {
            metrics.recordAnchors(profile: profile, anchors: store.anchors, reloadSucceeded: true)
            warnOfExpiry(profile: profile, anchors: store.anchors, now: now)
        }
    }

    /// A warning in the log for each anchor within 30 days of its notAfter, at start and after each reload.
    private func warnOfExpiry(profile: String, anchors: TrustAnchors, now: Date) {
        for warning in Self.expiryWarnings(profile: profile, anchors: anchors, now: now) { logger.warning("\(warning)") }
    }

    /// One warning per anchor within `CertificateExpiry.warningWindow` of its notAfter.
    package static func expiryWarnings(profile: String, anchors: TrustAnchors, now: Date) -> [String] {
        anchors.anchors.compactMap { anchor in
            let what = "the Intune Connector certificate \(anchor.subject) (\(anchor.fingerprint.prefix(16))…) of profile \(profile)"
            return CertificateExpiry.warning(what, notAfter: anchor.notAfter, now: now).map {
                "\($0); add its successor to the bundle and reload (docs/intune.md §6)"
            }
        }
    }

    package func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload(generation: nil)
        }
    }

    /// The last reload's report; nil before the first.
    package var lastReport: ReloadReport? { last.withLock { $0 } }

    /// The anchors in use, by profile.
    package var anchors: [String: [CertificateSummary]] {
        Dictionary(uniqueKeysWithValues: stores.map { profile, store in
            (profile, store.anchors.anchors.map { CertificateSummary(subject: $0.subject, fingerprint: $0.fingerprint, notAfter: $0.notAfter) })
        })
    }

    /// Reloads every profile and records the report; `generation` names a cluster-wide request.
    @discardableResult
    package func reload(generation: Int64?, now: Date = Date()) -> ReloadReport {
        alsoOnReload()
        let results = reloadAll(now: now)
        let report = ReloadReport(
            edgeID: edgeID, generation: generation, at: now,
            profiles: results.keys.sorted().map { profile in
                let result = results[profile]!
                return .init(profile: profile, succeeded: result.succeeded, error: result.error, fingerprints: result.fingerprints)
            })
        last.withLock { $0 = report }
        return report
    }

    /// Reloads each profile's bundle; a bad file keeps the old pool. Results by profile.
    @discardableResult
    package func reloadAll(now: Date = Date()) -> [String: TrustAnchorStore.ReloadResult] {
        var results: [String: TrustAnchorStore.ReloadResult] = [:]
        for (profile, store) in stores {
            let result = store.reload(now: now)
            results[profile] = result
            metrics.recordAnchors(profile: profile, anchors: store.anchors, reloadSucceeded: result.succeeded)
            if result.succeeded {
                logger.notice(
                    "trust anchors reloaded",
                    metadata: ["profile": "\(profile)", "path": "\(store.path)", "fingerprints": "\(result.fingerprints.joined(separator: ","))"])
                warnOfExpiry(profile: profile, anchors: store.anchors, now: now)
            } else {
                logger.error(
                    "trust anchor reload failed; keeping the previous anchors",
                    metadata: ["profile": "\(profile)", "path": "\(store.path)", "reason": "\(result.error ?? "")"])
            }
        }
        return results
    }
}
