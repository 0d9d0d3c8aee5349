import Foundation

/// What edges publish in Redis for the control plane (SPEC §7 "each edge's
/// heartbeat", §8 stats and reload-trust), as JSON with `InternalAPI`'s coders.
public enum ClusterKeys {
    /// Sorted set: edge id → time of its last heartbeat (ms since 1970).
    public static let edges = "scepter:edges"
    /// String holding an edge's `EdgeHeartbeat` JSON; expires when the edge stops beating.
    public static func edge(_ id: String) -> String { "scepter:edge:\(id)" }
    /// Counter the control plane increments to ask every edge to reload its trust anchors.
    public static let reloadGeneration = "scepter:reload:generation"
    /// Hash: edge id → `ReloadReport` JSON, for one generation.
    public static func reloadResults(_ generation: Int64) -> String { "scepter:reload:\(generation)" }
}

/// One edge's heartbeat.
public struct EdgeHeartbeat: Sendable, Codable, Hashable {
    public var edgeID: String
    public var version: String
    public var startedAt: Date
    public var at: Date
    /// Per Intune profile: the trust anchors in use.
    public var anchors: [String: [CertificateSummary]]
    /// The last reload this edge ran (SIGHUP or cluster-wide), if any.
    public var lastReload: ReloadReport?
    /// Each profile's effective settings on this edge; empty from an edge
    /// older than this field, or one whose settings this release cannot read
    /// (a rolling upgrade), whose heartbeat still counts.
    public var profiles: [String: EdgeProfileSettings]

    public init(
        edgeID: String, version: String, startedAt: Date, at: Date, anchors: [String: [CertificateSummary]], lastReload: ReloadReport?,
        profiles: [String: EdgeProfileSettings] = [:]
    ) {
        self.edgeID = edgeID
        self.version = version
        self.startedAt = startedAt
        self.at = at
        self.anchors = anchors
        self.lastReload = lastReload
        self.profiles = profiles
    }

    enum CodingKeys: String, CodingKey {
        case edgeID, version, startedAt, at, anchors, lastReload, profiles
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        edgeID = try container.decode(String.self, forKey: .edgeID)
        version = try container.decode(String.self, forKey: .version)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        at = try container.decode(Date.self, forKey: .at)
        anchors = try container.decode([String: [CertificateSummary]].self, forKey: .anchors)
        lastReload = try container.decodeIfPresent(ReloadReport.self, forKey: .lastReload)
        // Settings another release shaped differently must not drop the edge from the cluster's view.
        profiles = (try? container.decodeIfPresent([String: EdgeProfileSettings].self, forKey: .profiles)) ?? [:]
    }
}

/// A certificate as the console shows it: a trust anchor, an RA certificate.
public struct CertificateSummary: Sendable, Codable, Hashable {
    public var subject: String
    /// SHA-256 of the DER, lowercase hex.
    public var fingerprint: String
    public var notAfter: Date

    public init(subject: String, fingerprint: String, notAfter: Date) {
        self.subject = subject
        self.fingerprint = fingerprint
        self.notAfter = notAfter
    }
}

/// An edge's answer to one reload: each Intune profile's result.
public struct ReloadReport: Sendable, Codable, Hashable {
    public struct ProfileResult: Sendable, Codable, Hashable {
        public var profile: String
        public var succeeded: Bool
        /// Why the bundle was refused (the previous anchors stay in use); nil on success.
        public var error: String?
        /// Fingerprints in use after the attempt.
        public var fingerprints: [String]

        public init(profile: String, succeeded: Bool, error: String?, fingerprints: [String]) {
            self.profile = profile
            self.succeeded = succeeded
            self.error = error
            self.fingerprints = fingerprints
        }
    }

    public var edgeID: String
    /// The cluster-wide request it answers; nil for a SIGHUP.
    public var generation: Int64?
    public var at: Date
    public var profiles: [ProfileResult]

    public var succeeded: Bool { profiles.allSatisfy(\.succeeded) }

    public init(edgeID: String, generation: Int64?, at: Date, profiles: [ProfileResult]) {
        self.edgeID = edgeID
        self.generation = generation
        self.at = at
        self.profiles = profiles
    }
}

/// The release every role reports (`scepter version`, heartbeats).
public enum ScepterRelease {
    public static let version = "0.3.0"
}
