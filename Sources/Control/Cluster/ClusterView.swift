import Foundation
import ScepterProtocol

/// The control plane's view of the edges (SPEC §7, §8): which are alive,
/// with which trust anchors, and cluster-wide trust reloads. Redis in the
/// cluster; the one in-process edge in embedded mode.
package protocol ClusterView: Sendable {
    /// The heartbeats of the edges alive now.
    func liveEdges() async throws -> [EdgeHeartbeat]

    /// Asks every live edge to reload its trust anchors and waits, at most
    /// `wait`, for each one's report.
    func reloadTrust(wait: Duration) async throws -> ReloadRound
}

/// One cluster-wide reload: the edges asked and the reports they sent.
package struct ReloadRound: Sendable {
    package var generation: Int64
    /// The edges alive when the reload was asked for.
    package var asked: [String]
    /// Reports by edge id; an asked edge without one did not answer in time.
    package var reports: [String: ReloadReport]

    package init(generation: Int64, asked: [String], reports: [String: ReloadReport]) {
        self.generation = generation
        self.asked = asked
        self.reports = reports
    }
}
