import Foundation
import Hummingbird
import Logging
import NIOCore
import ScepterProtocol

/// The Intune part of the admin API (SPEC §8): cluster-wide trust reload and
/// the stats the console's monitoring page shows. Admin token required. The
/// same routes serve the cluster (edges seen through Redis) and embedded
/// mode (its one edge in process).
package struct AdminRoutes: Sendable {
    let store: any ControlStore
    let cluster: any ClusterView
    let profiles: [String]
    let tokens: BearerTokens
    /// Each `intune-api` profile's client, for its breaker and last calls.
    let intune: [String: IntuneClient]
    let logger: Logger
    /// How long reload-trust waits for every live edge's answer.
    let reloadWait: Duration
    let now: @Sendable () -> Date

    package init(
        store: any ControlStore, cluster: any ClusterView, profiles: [String], tokens: BearerTokens, intune: [String: IntuneClient] = [:],
        logger: Logger, reloadWait: Duration = .seconds(10), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.cluster = cluster
        self.profiles = profiles
        self.tokens = tokens
        self.intune = intune
        self.logger = logger
        self.reloadWait = reloadWait
        self.now = now
    }

    package func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("/api/v1/admin/scep/intune").add(middleware: BearerAuthMiddleware(tokens: tokens, role: .admin))
        group.post("reload-trust") { request, _ in
            if let refusal = QueryParameters.refusal(request) { return refusal }
            return try await reloadTrust()
        }
        group.get("stats") { request, _ in
            if let refusal = QueryParameters.refusal(request) { return refusal }
            return try await stats()
        }
    }

    // MARK: reload-trust

    struct ReloadAnswer: Codable {
        struct EdgeResult: Codable {
            enum Status: String, Codable {
                case reloaded
                /// A bundle was refused; the old pool stays in use.
                case failed
                case noAnswer = "no_answer"
            }

            var edge: String
            var status: Status
            var profiles: [ReloadReport.ProfileResult]
        }

        var generation: Int64
        var edges: [EdgeResult]
    }

    private func reloadTrust() async throws -> Response {
        let round: ReloadRound
        do {
            round = try await cluster.reloadTrust(wait: reloadWait)
        } catch {
            return unavailable("Redis (SCEPTER_REDIS_URL) is unreachable, so no edge can be asked to reload: \(error)")
        }
        let (generation, live, reports) = (round.generation, round.asked, round.reports)
        let edges = Set(live).union(reports.keys).sorted().map { edge in
            guard let report = reports[edge] else { return ReloadAnswer.EdgeResult(edge: edge, status: .noAnswer, profiles: []) }
            return ReloadAnswer.EdgeResult(edge: edge, status: report.succeeded ? .reloaded : .failed, profiles: report.profiles)
        }
        let answer = ReloadAnswer(generation: generation, edges: edges)
        let summary = edges.map { "\($0.edge)=\($0.status.rawValue)" }.joined(separator: " ")
        logger.notice("cluster-wide trust reload", metadata: ["generation": "\(generation)", "edges": "\(summary)"])
        // The admin action is audited by the control plane (SPEC §3).
        let allReloaded = !edges.isEmpty && edges.allSatisfy { $0.status == .reloaded }
        let event = AuditEvent(
            time: now(), edgeID: "control", sourceAddress: nil, profile: "*", operation: .reloadTrust,
            outcome: allReloaded ? .success : .unavailable, latencyMilliseconds: 0,
            details: edges.isEmpty ? "generation \(generation): no live edge" : "generation \(generation): \(summary)")
        do {
            try await store.insertAudit(event)
        } catch {
            logger.error("could not audit the trust reload", metadata: ["error": "\(error)"])
        }
        return try json(answer)
    }

    // MARK: stats

    struct Stats: Codable {
        struct Anchor: Codable {
            var subject: String
            var fingerprint: String
            var notAfter: Date
            var daysLeft: Int
            var badge: String
        }

        struct Edge: Codable {
            var id: String
            var version: String
            var lastHeartbeat: Date
            var fingerprints: [String]
            /// Whether this edge uses the same anchors as every other live edge.
            var inAgreement: Bool
        }

        struct Failure: Codable {
            var time: Date
            var edge: String
            var outcome: String
            var failInfo: String?
            var transactionID: String?
            var deviceName: String?
            var claimSubject: String?
            var claimIssuer: String?
            /// What the device asked for, to compare with the claim (a claim_mismatch).
            var csrSubject: String?
            var csrSANs: String?
            var sourceAddress: String?
            var details: String
        }

        struct Profile: Codable {
            var profile: String
            var last24h: [String: Int]
            var total: [String: Int]
            var trustAnchors: [Anchor]
            var edges: [Edge]
            var edgesInAgreement: Bool
            var recentFailures: [Failure]
            /// For an `intune-api` profile: each Intune service's breaker and
            /// last successful call, as this replica saw them.
            var intuneAPI: IntuneClient.Status?
            /// The last 24 UTC hours, oldest first, the current hour last.
            var hourly: [Hour]
        }

        struct Hour: Codable {
            /// The hour's start, e.g. 2026-11-30T10:00:00Z.
            var hour: Date
            var success: Int
            var failure: Int
        }

        var generatedAt: Date
        var profiles: [Profile]
    }

    private func stats() async throws -> Response {
        let now = now()
        let total: [OutcomeCount]
        let recent: [OutcomeCount]
        do {
            total = try await store.outcomeCounts(since: nil, now: now)
            recent = try await store.outcomeCounts(since: now.addingTimeInterval(-86_400), now: now)
        } catch {
            return unavailable("the database (SCEPTER_DATABASE_URL) is unreachable: \(error)")
        }
        let heartbeats = (try? await cluster.liveEdges()) ?? []
        var answers: [Stats.Profile] = []
        for profile in profileNames(from: total) {
            let failures = (try? await store.auditEvents(AuditQuery(profile: profile, failuresOnly: true, limit: 50))) ?? []
            let edges = heartbeats.filter { $0.anchors[profile] != nil }
            let sets = edges.map { Set($0.anchors[profile]!.map(\.fingerprint)) }
            let majority = Dictionary(grouping: sets, by: { $0 }).max { $0.value.count < $1.value.count }?.key ?? []
            var anchors: [String: CertificateSummary] = [:]
            for edge in edges { for anchor in edge.anchors[profile]! { anchors[anchor.fingerprint] = anchor } }
            answers.append(
                Stats.Profile(
                    profile: profile,
                    last24h: counts(recent, profile), total: counts(total, profile),
                    trustAnchors: anchors.values.sorted { $0.notAfter < $1.notAfter }.map { anchor in
                        Stats.Anchor(
                            subject: anchor.subject, fingerprint: anchor.fingerprint, notAfter: anchor.notAfter,
                            daysLeft: TrustAnchors.Anchor.daysLeft(until: anchor.notAfter, now: now),
                            badge: TrustAnchors.Anchor.Badge(notAfter: anchor.notAfter, now: now).rawValue)
                    },
                    edges: zip(edges, sets).map { edge, set in
                        Stats.Edge(id: edge.edgeID, version: edge.version, lastHeartbeat: edge.at, fingerprints: set.sorted(), inAgreement: set == majority)
                    },
                    edgesInAgreement: Set(sets).count <= 1,
                    recentFailures: failures.map {
                        Stats.Failure(
                            time: $0.time, edge: $0.edgeID, outcome: $0.outcome.rawValue, failInfo: $0.failInfo,
                            transactionID: $0.transactionID, deviceName: $0.deviceName, claimSubject: $0.claimSubject,
                            claimIssuer: $0.claimIssuer, csrSubject: $0.csrSubject, csrSANs: $0.csrSANs, sourceAddress: $0.sourceAddress,
                            details: $0.details)
                    },
                    intuneAPI: intune[profile]?.status,
                    hourly: try await hourly(profile, now: now)))
        }
        return try json(Stats(generatedAt: now, profiles: answers))
    }

    /// 24 hour buckets ending with the current one, zeros where nothing happened.
    private func hourly(_ profile: String, now: Date) async throws -> [Stats.Hour] {
        let currentHour = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        let first = currentHour.addingTimeInterval(-23 * 3600)
        let counted = (try? await store.hourlyOutcomes(profile: profile, since: first)) ?? []
        let byHour = Dictionary(counted.map { ($0.hour, $0) }, uniquingKeysWith: { first, _ in first })
        return (0..<24).map { index in
            let hour = first.addingTimeInterval(Double(index) * 3600)
            let key = String(hour.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)).prefix(13))
            return Stats.Hour(hour: hour, success: byHour[key]?.successes ?? 0, failure: byHour[key]?.failures ?? 0)
        }
    }

    /// Configured profiles first, then any others the audit log knows.
    private func profileNames(from counts: [OutcomeCount]) -> [String] {
        let seen = Set(counts.map(\.profile)).subtracting(profiles).subtracting(["*"]).sorted()
        return profiles + seen
    }

    private func counts(_ rows: [OutcomeCount], _ profile: String) -> [String: Int] {
        var result: [String: Int] = [:]
        for row in rows where row.profile == profile { result[row.outcome, default: 0] += row.count }
        return result
    }

    // MARK: Responses

    private func json(_ value: some Encodable) throws -> Response { try APIResponse.json(value) }

    private func unavailable(_ reason: String) -> Response { APIResponse.unavailable(reason) }
}
