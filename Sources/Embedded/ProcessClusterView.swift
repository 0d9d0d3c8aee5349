import Foundation
import Synchronization
import ScepterControl
import ScepterEdge
import ScepterProtocol

/// Embedded mode's cluster: its one edge, in this process. A reload runs at
/// once, like a SIGHUP, and reports as a cluster-wide generation would.
final class ProcessClusterView: ClusterView {
    let reloader: TrustAnchorReloader
    let edgeID: String
    let profiles: [String: EdgeProfileSettings]
    let startedAt: Date
    let now: @Sendable () -> Date
    private let generation = Mutex<Int64>(0)

    init(reloader: TrustAnchorReloader, configuration: EdgeConfiguration, now: @escaping @Sendable () -> Date = { Date() }) {
        self.reloader = reloader
        self.edgeID = configuration.edgeID
        self.profiles = configuration.profileSettings
        self.now = now
        self.startedAt = now()
    }

    func liveEdges() async throws -> [EdgeHeartbeat] {
        [
            EdgeHeartbeat(
                edgeID: edgeID, version: ScepterRelease.version, startedAt: startedAt, at: now(), anchors: reloader.anchors,
                lastReload: reloader.lastReport, profiles: profiles)
        ]
    }

    func reloadTrust(wait: Duration) async throws -> ReloadRound {
        let next = generation.withLock { generation in
            generation += 1
            return generation
        }
        let report = reloader.reload(generation: next, now: now())
        return ReloadRound(generation: next, asked: [edgeID], reports: [edgeID: report])
    }
}
