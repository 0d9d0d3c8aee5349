import Foundation
import ScepterProtocol

/// The inventory searches of the admin API, written once for both engines.
extension SQLStore {
    package func certificates(_ query: CertificateQuery) async throws -> CertificatePage {
        var clauses: [String] = []
        var binds: [SQLValue] = []
        func filter(_ clause: String, _ values: SQLValue...) {
            clauses.append(clause)
            binds += values
        }
        if let profile = query.profile { filter("profile = ?", .text(profile)) }
        if let serial = query.serialNumber { filter("serial = ?", .text(serial)) }
        switch query.state {
        case .active?: filter("status = 'active' AND not_after >= ?", .instant(query.now))
        case .expired?: filter("status = 'active' AND not_after < ?", .instant(query.now))
        case .revoked?: filter("status = 'revoked'")
        case .superseded?: filter("status = 'superseded'")
        case nil: break
        }
        if let text = query.text {
            let pattern = Self.containsPattern(text)
            filter(#"(lower(subject) LIKE ? ESCAPE '\' OR lower(sans) LIKE ? ESCAPE '\')"#, .text(pattern), .text(pattern))
        }
        if let device = query.device {
            filter(#"(device_id = ? OR lower(subject) LIKE ? ESCAPE '\')"#, .text(device), .text(Self.containsPattern(device)))
        }
        if let deviceID = query.deviceID { filter("device_id = ?", .text(deviceID)) }
        if let since = query.issuedSince { filter("created_at >= ?", .instant(since)) }
        if let until = query.issuedUntil { filter("created_at < ?", .instant(until)) }
        if let before = query.expiringBefore { filter("not_after < ?", .instant(before)) }

        // Keyset pagination: rows strictly after the cursor in the sort order.
        let (column, direction, comparison) =
            switch query.sort {
            case .issued: ("created_at", "DESC", "<")
            case .notAfter: ("not_after", "ASC", ">")
            }
        if let after = query.after {
            filter("(\(column) \(comparison) ? OR (\(column) = ? AND serial > ?))", .instant(after.key), .instant(after.key), .text(after.id))
        }
        let limit = max(1, min(query.limit, 1000))
        binds.append(.integer(Int64(limit + 1)))
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        // The page's serials first, then their rows: the inner query can then
        // be answered from an index alone where one holds every column it
        // reads (the expired list checks `not_after` inside
        // `certificates_status_created` instead of reading the row of every
        // current certificate it passes; plans in Benchmarks/README.md).
        let order = "\(column) \(direction), serial ASC"
        let statement = SQLStatement(
            """
            SELECT \(Schema.columnList(Schema.certificateColumns)) FROM certificates
            WHERE serial IN (SELECT serial FROM certificates \(whereClause) ORDER BY \(order) LIMIT ?) ORDER BY \(order)
            """, binds)
        let rows = try await run("certificates") { sql in try await sql.run(statement).map(CertificateRecord.init(row:)) }
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { last in
            PageCursor(key: query.sort == .issued ? last.createdAt : last.notAfter, id: last.serialNumber)
        } : nil
        return CertificatePage(certificates: page, next: next)
    }

    package func revocation(serialNumber: String) async throws -> RevocationEntry? {
        try await run("revocation") { sql in
            guard let row = try await sql.run(
                "SELECT serial, revoked_at, reason, actor, invalidity_date FROM revocations WHERE serial = ?", [.text(serialNumber)]
            ).first else { return nil }
            return try RevocationEntry(row: row)
        }
    }

    package func revocations(serialNumbers: [String]) async throws -> [String: RevocationEntry] {
        guard !serialNumbers.isEmpty else { return [:] }
        let placeholders = Array(repeating: "?", count: serialNumbers.count).joined(separator: ", ")
        let statement = SQLStatement(
            "SELECT serial, revoked_at, reason, actor, invalidity_date FROM revocations WHERE serial IN (\(placeholders))", serialNumbers.map(SQLValue.text))
        return try await run("revocations") { sql in
            Dictionary(try await sql.run(statement).map { row in let entry = try RevocationEntry(row: row); return (entry.serialNumber, entry) }) { first, _ in first }
        }
    }

    package func hourlyOutcomes(profile: String, since: Date) async throws -> [HourlyOutcomes] {
        let hour = dialect.bucket(#""time""#, hourly: true)
        let statement = SQLStatement(
            """
            SELECT \(hour) AS hour, sum(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS successes,
                sum(CASE WHEN outcome IN ('success', 'pending') THEN 0 ELSE 1 END) AS failures
            FROM audit_events WHERE operation = ? AND profile = ? AND "time" >= ? GROUP BY hour ORDER BY hour
            """, [.text(AuditOperation.pkiOperation.rawValue), .text(profile), .instant(since)])
        return try await run("hourlyOutcomes") { sql in
            try await sql.run(statement).map { row in
                HourlyOutcomes(
                    hour: try row.required(row.text, "hour", in: "audit_events"), successes: Int(try row.integer("successes") ?? 0),
                    failures: Int(try row.integer("failures") ?? 0))
            }
        }
    }

    package func inventorySummary(now: Date) async throws -> InventorySummary {
        let day = 86_400.0
        let soon = now.addingTimeInterval(30 * day)
        // One count per state, each a range of `certificates_status_not_after`, not a pass over the table.
        let totals = SQLStatement(
            """
            SELECT (SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= ?) AS active,
                (SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= ? AND not_after < ?) AS expiring,
                (SELECT count(*) FROM certificates WHERE status = 'revoked') AS revoked,
                (SELECT count(*) FROM certificates WHERE status = 'superseded') AS superseded
            """, [.instant(now), .instant(now), .instant(soon)])
        let issued = SQLStatement(
            "SELECT \(dialect.bucket("created_at", hourly: false)) AS day, count(*) AS n FROM certificates WHERE created_at >= ? GROUP BY day",
            [.instant(now.addingTimeInterval(-30 * day))])
        let expiring = SQLStatement(
            """
            SELECT \(dialect.bucket("not_after", hourly: false)) AS day, count(*) AS n FROM certificates
            WHERE status = 'active' AND not_after >= ? AND not_after < ? GROUP BY day
            """, [.instant(now), .instant(now.addingTimeInterval(90 * day))])
        return try await run("inventorySummary") { sql in
            func perDay(_ statement: SQLStatement) async throws -> [String: Int] {
                var counts: [String: Int] = [:]
                for row in try await sql.run(statement) {
                    counts[try row.required(row.text, "day", in: "certificates")] = Int(try row.integer("n") ?? 0)
                }
                return counts
            }
            let row = try await sql.run(totals).first
            func total(_ column: String) throws -> Int { Int(try row?.integer(column) ?? 0) }
            return InventorySummary(
                active: try total("active"), expiringIn30Days: try total("expiring"), revoked: try total("revoked"),
                superseded: try total("superseded"), issuedPerDay: try await perDay(issued), expiringPerDay: try await perDay(expiring))
        }
    }

    package func issuerInventory(now: Date) async throws -> [IssuerInventory] {
        // The distinct names by hopping along certificates_issuer (one probe per
        // name, not a pass over the table), then each name's range from `now` on.
        let names = SQLStatement(
            """
            WITH RECURSIVE names(issuer) AS (
              SELECT min(issuer) FROM certificates
              UNION ALL
              SELECT (SELECT min(issuer) FROM certificates WHERE issuer > names.issuer) FROM names WHERE names.issuer IS NOT NULL
            ) SELECT issuer FROM names WHERE issuer IS NOT NULL
            """)
        return try await run("issuerInventory") { sql in
            var found: [IssuerInventory] = []
            for row in try await sql.run(names) {
                let issuer = try row.required(row.text, "issuer", in: "certificates")
                let counts = SQLStatement(
                    """
                    SELECT count(*) AS unexpired, sum(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active,
                        sum(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) AS revoked, max(not_after) AS last_expiry
                    FROM certificates WHERE issuer = ? AND not_after > ?
                    """, [.text(issuer), .instant(now)])
                guard let totals = try await sql.run(counts).first, let last = try totals.instant("last_expiry") else { continue }
                func total(_ column: String) throws -> Int { Int(try totals.integer(column) ?? 0) }
                found.append(
                    IssuerInventory(
                        issuer: issuer, unexpired: try total("unexpired"), active: try total("active"), revoked: try total("revoked"),
                        lastExpiry: last))
            }
            return found.sorted { $0.issuer < $1.issuer }
        }
    }

    /// `%text%` for LIKE, lowercased, with LIKE's own characters escaped.
    static func containsPattern(_ text: String) -> String {
        let escaped = text.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return "%\(escaped)%"
    }
}

extension RevocationEntry {
    init(row: any SQLRow) throws {
        let table = "revocations"
        let stored = try row.required(row.text, "reason", in: table)
        guard let reason = Revocation.Reason(rawValue: stored) else {
            throw UnexpectedRow(table: table, column: "reason", problem: "holds \"\(stored)\", which is not an RFC 5280 reason name")
        }
        self.init(
            serialNumber: try row.required(row.text, "serial", in: table), revokedAt: try row.required(row.instant, "revoked_at", in: table),
            reason: reason, actor: try row.required(row.text, "actor", in: table), invalidityDate: try row.instant("invalidity_date"))
    }
}
