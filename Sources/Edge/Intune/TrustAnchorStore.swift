import Foundation
import Synchronization
import ScepterProtocol

/// A profile's Connector trust anchors, swapped atomically on reload.
///
/// A reload that fails (missing file, garbage, an expired certificate)
/// keeps the pool in use and reports why.
package final class TrustAnchorStore: Sendable {
    /// The PEM bundle on disk (`INTUNE_CONNECTOR_CERT_PATH`).
    package let path: String
    private let state: Mutex<State>

    private struct State {
        var anchors: TrustAnchors
        var lastReload: ReloadResult
    }

    /// The outcome of loading the bundle.
    package struct ReloadResult: Sendable, Codable, Hashable {
        package var succeeded: Bool
        package var at: Date
        /// SHA-256 fingerprints of the anchors in use after the attempt.
        package var fingerprints: [String]
        /// Why the attempt failed; nil on success.
        package var error: String?
    }

    /// Loads the bundle; boot refuses a missing, unparseable or expired one.
    package init(path: String, now: Date) throws(ConfigurationProblem) {
        self.path = path
        let anchors = try Self.load(path: path, now: now)
        state = Mutex(State(anchors: anchors, lastReload: ReloadResult(succeeded: true, at: now, fingerprints: anchors.fingerprints)))
    }

    /// The anchors in use now.
    package var anchors: TrustAnchors { state.withLock { $0.anchors } }

    package var lastReload: ReloadResult { state.withLock { $0.lastReload } }

    /// Re-reads the bundle; on failure the current pool stays in use.
    @discardableResult
    package func reload(now: Date) -> ReloadResult {
        do {
            let anchors = try Self.load(path: path, now: now)
            return state.withLock { state in
                state.anchors = anchors
                state.lastReload = ReloadResult(succeeded: true, at: now, fingerprints: anchors.fingerprints)
                return state.lastReload
            }
        } catch {
            return state.withLock { state in
                state.lastReload = ReloadResult(
                    succeeded: false, at: now, fingerprints: state.anchors.fingerprints, error: error.message)
                return state.lastReload
            }
        }
    }

    private static func load(path: String, now: Date) throws(ConfigurationProblem) -> TrustAnchors {
        let text: String
        do {
            text = try SecretFiles.readPublic(at: path, setting: "trust anchor bundle")
        } catch {
            throw ConfigurationProblem(path, "cannot read the Connector trust anchor bundle")
        }
        do {
            return try TrustAnchors(pemBundle: text, now: now)
        } catch {
            throw ConfigurationProblem(path, error.description)
        }
    }
}
