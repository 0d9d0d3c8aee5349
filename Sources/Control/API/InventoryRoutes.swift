import Foundation
import Hummingbird
import Logging
import NIOCore
import ScepterProtocol

/// The certificate inventory, revocation, the audit log and the profiles
/// (SPEC §8): viewer tokens read, admin tokens revoke. Every answer is JSON;
/// every refusal names the parameter or setting at fault.
package struct InventoryRoutes: Sendable {
    let store: any ControlStore
    let configuration: ControlConfiguration
    /// The live edges, whose heartbeats carry the edge half of each profile's settings.
    let cluster: (any ClusterView)?
    let tokens: BearerTokens
    let logger: Logger
    let now: @Sendable () -> Date

    package init(
        store: any ControlStore, configuration: ControlConfiguration, cluster: (any ClusterView)? = nil, tokens: BearerTokens,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.configuration = configuration
        self.cluster = cluster
        self.tokens = tokens
        self.logger = logger
        self.now = now
    }

    package func add<Context: RequestContext>(to router: Router<Context>) {
        let read = router.group("/api/v1").add(middleware: BearerAuthMiddleware(tokens: tokens, role: .viewer))
        read.get("certificates") { request, _ in await answer { try await certificates(request) } }
        read.get("certificates/:serial") { request, context in
            await answer(takingNoParameters: request) {
                try await certificate(try QueryParameters.serial(try context.parameters.require("serial"), name: "serial"))
            }
        }
        read.get("audit") { request, _ in await answer { try await audit(request) } }
        read.get("profiles") { request, _ in
            await answer(takingNoParameters: request) {
                // Without Redis the control plane's half still answers; the edges' half is then absent.
                let edges: [EdgeHeartbeat]? = try? await cluster?.liveEdges()
                return try APIResponse.json(ProfileView.all(configuration, edges: edges, now: now()))
            }
        }
        read.get("issuers") { request, _ in
            await answer(takingNoParameters: request) { try APIResponse.json(try await IssuerView.all(configuration, store: store, now: now())) }
        }
        read.get("session") { request, _ in
            await answer(takingNoParameters: request) {
                let principal = tokens.principal(authorization: request.headers[.authorization])
                return try APIResponse.json(
                    AdminJSON.Session(name: principal?.name ?? "", roles: (principal?.roles ?? []).map(\.rawValue).sorted()))
            }
        }
        read.get("overview") { request, _ in await answer(takingNoParameters: request) { try await overview() } }
        let write = router.group("/api/v1").add(middleware: BearerAuthMiddleware(tokens: tokens, role: .admin))
        write.post("certificates/revoke") { request, _ in await answer(takingNoParameters: request) { try await revokeMany(request) } }
        write.post("certificates/:serial/revoke") { request, context in
            await answer(takingNoParameters: request) {
                let serial = try QueryParameters.serial(try context.parameters.require("serial"), name: "serial")
                return try await revoke(serial, request: request)
            }
        }
    }

    /// `answer` for an endpoint that takes no query parameters: one given is a 400.
    private func answer(takingNoParameters request: Request, _ handler: () async throws -> Response) async -> Response {
        if let refusal = QueryParameters.refusal(request) { return refusal }
        return await answer(handler)
    }

    /// Runs a handler: a `ParameterProblem` is 400, a store failure 503.
    private func answer(_ handler: () async throws -> Response) async -> Response {
        do {
            return try await handler()
        } catch let problem as ParameterProblem {
            return APIResponse.badRequest(problem.message)
        } catch {
            logger.warning("admin API request failed", metadata: ["error": "\(error)"])
            return APIResponse.unavailable("the database is unavailable: \(error)")
        }
    }

    // MARK: Certificates

    private func certificates(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(
            request,
            allowed: ["profile", "state", "serial", "q", "device", "issuedSince", "issuedUntil", "expiringBefore", "sort", "limit", "cursor"])
        let at = now()
        let query = CertificateQuery(
            profile: parameters.string("profile")?.lowercased(), state: try parameters.choice("state", CertificateQuery.State.self),
            serialNumber: try parameters.serial("serial"), text: parameters.string("q"), device: parameters.string("device"),
            issuedSince: try parameters.date("issuedSince"), issuedUntil: try parameters.date("issuedUntil"),
            expiringBefore: try parameters.date("expiringBefore"), sort: try parameters.choice("sort", CertificateQuery.Sort.self) ?? .issued,
            after: try parameters.cursor("cursor"), limit: try parameters.integer("limit", in: 1...1000, default: 100), now: at)
        let page = try await store.certificates(query)
        let revocations = try await store.revocations(serialNumbers: page.certificates.filter { $0.status == .revoked }.map(\.serialNumber))
        let items = page.certificates.map { AdminJSON.Certificate($0, revocation: revocations[$0.serialNumber], now: at) }
        return try APIResponse.json(AdminJSON.Page(items: items, nextCursor: page.next?.token))
    }

    private func certificate(_ serial: String) async throws -> Response {
        guard let record = try await store.certificate(serialNumber: serial) else {
            return APIResponse.notFound("no certificate with serial \(serial) in the inventory")
        }
        let revocation = try await store.revocation(serialNumber: serial)
        let chain = configuration.profiles[record.profile].map { configuration.chain(of: record, in: $0) } ?? []
        // The transaction that produced it, then everything done to it since.
        var events = try await store.auditEvents(AuditQuery(transactionID: record.transactionID, limit: 100))
        events += try await store.auditEvents(AuditQuery(serialNumber: serial, limit: 100)).filter { event in !events.contains { $0.id == event.id } }
        events.sort { $0.time < $1.time }
        let detail = AdminJSON.CertificateDetail(
            certificate: AdminJSON.Certificate(record, revocation: revocation, now: now()),
            pem: PEM.encode(record.der, label: "CERTIFICATE"), chain: chain.map { PEM.encode($0, label: "CERTIFICATE") },
            enrollment: try await store.enrollments(profile: record.profile, transactionID: record.transactionID)
                .first { $0.serialNumber == serial }.map(AdminJSON.Enrollment.init),
            audit: events.filter { $0.profile == record.profile || $0.serialNumber == serial })
        return try APIResponse.json(detail)
    }

    /// A request body of at most 4 KiB (the admin API's are a few hundred bytes).
    static func body(of request: Request) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: 4096)
        } catch {
            throw ParameterProblem(message: "the body is larger than 4096 bytes")
        }
    }

    /// The body of a revoke request: both members optional.
    private struct RevokeRequest: Decodable {
        var reason: Revocation.Reason?
        var invalidityDate: Date?

        enum CodingKeys: String, CodingKey, CaseIterable { case reason, invalidityDate }
        static let shape = "{\"reason\": \(RequestBody.reason), \"invalidityDate\": \(RequestBody.time)}, both optional"

        init() {}

        init(from decoder: any Decoder) throws {
            let members = try decoder.members(CodingKeys.self)
            reason = try members.member(.reason, RequestBody.reason)
            invalidityDate = try members.member(.invalidityDate, RequestBody.time)
        }
    }

    private func revoke(_ serial: String, request: Request) async throws -> Response {
        let body = try await Self.body(of: request)
        let revoke = body.readableBytes == 0 ? RevokeRequest() : try RequestBody.decode(RevokeRequest.self, from: body, shape: RevokeRequest.shape)
        let at = now()
        if let invalidity = revoke.invalidityDate, invalidity > at {
            throw ParameterProblem(message: "invalidityDate is in the future; it says when the key was compromised")
        }
        let actor = tokens.principal(authorization: request.headers[.authorization])?.name ?? "admin"
        let reason = revoke.reason ?? .unspecified
        let asked = Revocation(serialNumber: serial, reason: reason, actor: actor, at: at, invalidityDate: revoke.invalidityDate)
        let outcome = try await store.revoke(asked) { outcome in
            switch outcome {
            case .revoked(let record): Self.auditEvent(record, at: at, details: "revoked by \(actor): \(reason.rawValue)")
            case .alreadyRevoked(let record):
                Self.auditEvent(record, at: at, details: "\(actor) asked to revoke a certificate already revoked; nothing changed")
            case .notFound: nil
            }
        }
        let record: CertificateRecord
        let already: Bool
        switch outcome {
        case .notFound:
            return APIResponse.notFound("no certificate with serial \(serial) in the inventory")
        case .revoked(let revoked):
            (record, already) = (revoked, false)
        case .alreadyRevoked(let revoked):
            (record, already) = (revoked, true)
        }
        logger.notice("certificate revoked", metadata: ["serial": "\(serial)", "actor": "\(actor)", "reason": "\(reason.rawValue)", "already": "\(already)"])
        let revocation = try await store.revocation(serialNumber: serial)
        return try APIResponse.json(AdminJSON.RevokeAnswer(certificate: AdminJSON.Certificate(record, revocation: revocation, now: at), alreadyRevoked: already))
    }

    /// The audit row of an administrator's revocation, written in its transaction.
    private static func auditEvent(_ record: CertificateRecord, at: Date, details: String) -> AuditEvent {
        AuditEvent(
            time: at, edgeID: "control", sourceAddress: nil, profile: record.profile, operation: .revoke, outcome: .success,
            serialNumber: record.serialNumber, latencyMilliseconds: 0, details: details)
    }

    /// The body of a bulk revocation.
    private struct BulkRevokeRequest: Decodable {
        struct Selector: Decodable {
            var profile: String?
            var device: String?
            var claimSub: String?
            var issuedBefore: Date?

            enum CodingKeys: String, CodingKey, CaseIterable { case profile, device, claimSub, issuedBefore }
            static let shape = "an object with at least one of \(RequestBody.names(CodingKeys.self)) (issuedBefore \(RequestBody.time))"

            init(from decoder: any Decoder) throws {
                let members = try decoder.members(CodingKeys.self)
                profile = try members.member(.profile, "a string")
                device = try members.member(.device, "a string")
                claimSub = try members.member(.claimSub, "a string")
                issuedBefore = try members.member(.issuedBefore, RequestBody.time)
            }
        }

        var selector: Selector
        var reason: Revocation.Reason?
        var dryRun: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable { case selector, reason, dryRun }
        static let shape = "{\"selector\": {\(RequestBody.names(Selector.CodingKeys.self))}, \"reason\", \"dryRun\"}"

        init(from decoder: any Decoder) throws {
            let members = try decoder.members(CodingKeys.self)
            selector = try members.required(.selector, Selector.shape)
            reason = try members.member(.reason, RequestBody.reason)
            // null is refused, not read as false: a dry run asked for in some other way must not revoke.
            dryRun = try members.member(.dryRun, "true or false", null: .refused)
        }
    }

    private struct BulkRevokeAnswer: Encodable {
        var dryRun: Bool
        /// Certificates the selector matches, revoked or not.
        var matched: Int
        /// Revoked by this request (with dryRun: that would be).
        var revoked: Int
        /// Already revoked before.
        var skipped: Int
    }

    /// Most certificates one bulk revocation may touch: a larger fleet is revoked in narrower selections.
    static let bulkLimit = 100_000

    private func revokeMany(_ request: Request) async throws -> Response {
        let body = try await Self.body(of: request)
        let bulk = try RequestBody.decode(BulkRevokeRequest.self, from: body, shape: BulkRevokeRequest.shape)
        let selector = bulk.selector
        guard selector.profile != nil || selector.device != nil || selector.claimSub != nil || selector.issuedBefore != nil else {
            throw ParameterProblem(message: "the selector is empty: name a profile, device, claimSub or issuedBefore (an empty one would revoke everything)")
        }
        let dryRun = bulk.dryRun ?? false
        let reason = bulk.reason ?? .unspecified
        let actor = tokens.principal(authorization: request.headers[.authorization])?.name ?? "admin"
        let at = now()
        let query = CertificateQuery(
            profile: selector.profile?.lowercased(), device: selector.device, deviceID: selector.claimSub, issuedUntil: selector.issuedBefore,
            limit: 1000, now: at)
        // First count, a page at a time (nothing is revoked if the selector matches too many), then revoke the same pages.
        var answer = BulkRevokeAnswer(dryRun: dryRun, matched: 0, revoked: 0, skipped: 0)
        try await forEachPage(of: query) { page in
            answer.matched += page.count
            let already = page.filter { $0.status == .revoked }.count
            answer.skipped += already
            answer.revoked += page.count - already
            guard answer.matched <= Self.bulkLimit else {
                throw ParameterProblem(message: "the selector matches more than \(Self.bulkLimit) certificates; narrow it (profile, issuedBefore)")
            }
        }
        guard !dryRun else { return try APIResponse.json(answer) }
        (answer.revoked, answer.skipped) = (0, 0)
        try await forEachPage(of: query) { page in
            for record in page {
                let revocation = Revocation(serialNumber: record.serialNumber, reason: reason, actor: actor, at: at)
                let outcome = try await store.revoke(revocation) { outcome in
                    guard case .revoked(let revoked) = outcome else { return nil }
                    return Self.auditEvent(revoked, at: at, details: "revoked by \(actor) in a bulk revocation: \(reason.rawValue)")
                }
                switch outcome {
                case .revoked:
                    answer.revoked += 1
                case .alreadyRevoked:
                    answer.skipped += 1
                case .notFound:
                    break
                }
            }
        }
        logger.notice(
            "bulk revocation", metadata: ["actor": "\(actor)", "dryRun": "\(dryRun)", "matched": "\(answer.matched)", "revoked": "\(answer.revoked)"])
        return try APIResponse.json(answer)
    }

    /// Every page of `query`, in order, one page in memory at a time.
    private func forEachPage(of query: CertificateQuery, _ body: ([CertificateRecord]) async throws -> Void) async throws {
        var query = query
        repeat {
            let page = try await store.certificates(query)
            try await body(page.certificates)
            query.after = page.next
        } while query.after != nil
    }

    // MARK: Overview

    private func overview() async throws -> Response {
        let at = now()
        let summary = try await store.inventorySummary(now: at)
        func days(_ range: Range<Int>, _ counts: [String: Int]) -> [AdminJSON.DayCount] {
            range.map { offset in
                let day = String(AuditExport.isoDay(at.addingTimeInterval(Double(offset) * 86_400)))
                return AdminJSON.DayCount(day: day, count: counts[day] ?? 0)
            }
        }
        return try APIResponse.json(
            AdminJSON.Overview(
                active: summary.active, expiringIn30Days: summary.expiringIn30Days, revoked: summary.revoked, superseded: summary.superseded,
                issuedPerDay: days(-29..<1, summary.issuedPerDay), expiringPerDay: days(0..<90, summary.expiringPerDay)))
    }

    // MARK: Audit

    private func audit(_ request: Request) async throws -> Response {
        let parameters = try QueryParameters(
            request,
            allowed: ["profile", "outcome", "device", "claimSub", "transactionID", "operation", "serial", "since", "until", "limit", "cursor"])
        let limit = try parameters.integer("limit", in: 1...1000, default: 100)
        let query = AuditQuery(
            profile: parameters.string("profile")?.lowercased(), outcome: try parameters.choice("outcome", Outcome.self),
            transactionID: parameters.string("transactionID"), device: parameters.string("device"), claimSubject: parameters.string("claimSub"),
            operation: try parameters.choice("operation", AuditOperation.self), serialNumber: try parameters.serial("serial"),
            since: try parameters.date("since"), until: try parameters.date("until"), after: try parameters.cursor("cursor"), limit: limit + 1)
        if let format = AuditExport.Format(accept: request.headers[.accept]) {
            // The whole result, whatever the limit: the export is what the filters select.
            var everything = query
            everything.after = nil
            return try await AuditExport.response(everything, format: format, store: store)
        }
        let events = try await store.auditEvents(query)
        let page = Array(events.prefix(limit))
        let next = events.count > limit ? page.last.map { PageCursor(key: $0.time, id: $0.id).token } : nil
        return try APIResponse.json(AdminJSON.Page(items: page, nextCursor: next))
    }
}
