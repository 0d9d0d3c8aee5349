import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import ScepterProtocol

/// Reloads every Intune profile's trust anchors on SIGHUP.
public struct TrustAnchorReloader: Service {
    let stores: [(profile: String, store: TrustAnchorStore)]
    let metrics: EdgeMetrics
    let logger: Logger

    /// Publishes the anchors loaded at boot as metrics.
    public init(configuration: EdgeConfiguration, metrics: EdgeMetrics, logger: Logger) {
        self.stores = configuration.profiles.values.sorted { $0.name < $1.name }.compactMap { profile in
            profile.intune.map { (profile.name, $0.anchors) }
        }
        self.metrics = metrics
        self.logger = logger
        for (profile, store) in stores {
            metrics.recordAnchors(profile: profile, anchors: store.anchors, reloadSucceeded: true)
        }
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reloadAll()
        }
    }

    /// Reloads each profile's bundle; a bad file keeps the old pool. Results by profile.
    @discardableResult
    public func reloadAll(now: Date = Date()) -> [String: TrustAnchorStore.ReloadResult] {
        var results: [String: TrustAnchorStore.ReloadResult] = [:]
        for (profile, store) in stores {
            let result = store.reload(now: now)
            results[profile] = result
            metrics.recordAnchors(profile: profile, anchors: store.anchors, reloadSucceeded: result.succeeded)
            if result.succeeded {
                logger.notice(
                    "trust anchors reloaded",
                    metadata: ["profile": "\(profile)", "path": "\(store.path)", "fingerprints": "\(result.fingerprints.joined(separator: ","))"])
            } else {
                logger.error(
                    "trust anchor reload failed; keeping the previous anchors",
                    metadata: ["profile": "\(profile)", "path": "\(store.path)", "reason": "\(result.error ?? "")"])
            }
        }
        return results
    }
}
