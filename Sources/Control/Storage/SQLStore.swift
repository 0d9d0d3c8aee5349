import Foundation
import ScepterProtocol

/// A `ControlStore` on a SQL engine. The engine supplies connections,
/// transactions and its conflict error; the queries and row decoders below
/// are written once, so SQLite and PostgreSQL cannot drift apart.
protocol SQLStore: ControlStore {
    var dialect: SQLDialect { get }

    /// Runs `body` on a connection, each statement on its own.
    func run<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T

    /// Runs `body` in one transaction: all of it commits, or none.
    func transaction<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T

    /// Whether `error` is a second insert of an enrollment's (profile, transaction_id, csr_sha256).
    func isEnrollmentConflict(_ error: any Error) -> Bool
}

extension SQLStore {
    package func enrollment(_ key: EnrollmentKey) async throws -> EnrollmentRecord? {
        try await run("enrollment") { sql in
            try await sql.run(
                "SELECT \(Self.enrollmentColumns) FROM enrollments WHERE profile = ? AND transaction_id = ? AND csr_sha256 = ?",
                [.text(key.profile), .text(key.transactionID), .text(key.csrSHA256)]
            ).first.map(EnrollmentRecord.init(row:))
        }
    }

    package func enrollments(profile: String, transactionID: String) async throws -> [EnrollmentRecord] {
        var statement = SQLStatement(Self.enrollmentsOfTransactionSQL, [.text(profile), .text(transactionID)])
        statement.hot = .enrollmentsOfTransaction
        let query = statement
        return try await run("enrollments") { sql in try await sql.run(query).map(EnrollmentRecord.init(row:)) }
    }

    static var enrollmentsOfTransactionSQL: String {
        """
        SELECT \(enrollmentColumns) FROM enrollments WHERE profile = ? AND transaction_id = ?
        ORDER BY created_at DESC, csr_sha256 LIMIT \(ControlStoreLimits.enrollmentsPerTransaction)
        """
    }

    private static var enrollmentColumns: String {
        "profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at"
    }

    /// The certificate, then the enrollment that names it, the provisional
    /// audit row and the superseded predecessor, all or nothing. A second
    /// writer of the same request fails on the enrollment's key (PostgreSQL
    /// makes it wait for the first to commit) and its certificate rolls back
    /// with it. PostgreSQL gets it as one statement (one round trip: its
    /// data-modifying WITH clauses run once each, foreign keys are checked
    /// at the end of the statement); SQLite, which has no INSERT in WITH, as
    /// a transaction of up to four statements on its one connection.
    package func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?, supersedes: String?) async throws {
        var statements = [
            SQLStatement(
                Self.certificateInsertSQL,
                [
                    .text(certificate.serialNumber), .text(certificate.issuer), .text(certificate.profile), .text(certificate.subject),
                    .text(certificate.subjectAlternativeNames), .instant(certificate.notBefore), .instant(certificate.notAfter),
                    .text(certificate.status.rawValue), .text(certificate.transactionID), .optional(certificate.deviceID), .bytes(certificate.der),
                    .instant(certificate.createdAt),
                ]),
            Self.insertStatement(enrollment, serial: certificate.serialNumber),
        ]
        if let audit { statements.append(Self.insertStatement([audit], provisional: true)) }
        if let supersedes {
            statements.append(SQLStatement("UPDATE certificates SET status = 'superseded' WHERE serial = ? AND status = 'active'", [.text(supersedes)]))
        }
        let steps = statements
        try await conflictsAsStoreConflict {
            switch dialect {
            case .postgres:
                var statement = SQLStatement(postgresSteps: steps)
                if audit != nil, supersedes == nil { statement.hot = .issuance }
                let combined = statement
                try await run("commitIssued") { sql in _ = try await sql.run(combined) }
            case .sqlite:
                try await transaction("commitIssued") { sql in
                    for statement in steps { _ = try await sql.run(statement) }
                }
            }
        }
    }

    /// One statement that changes data. PostgreSQL commits it by itself;
    /// SQLite commits it with the writes that arrive with it (`SQLiteStore.GroupCommit`).
    private func write(_ operation: String, _ statement: SQLStatement) async throws {
        switch dialect {
        case .postgres: try await run(operation) { sql in _ = try await sql.run(statement) }
        case .sqlite: try await transaction(operation) { sql in _ = try await sql.run(statement) }
        }
    }

    package func commitRejected(_ enrollment: EnrollmentRecord) async throws {
        try await conflictsAsStoreConflict {
            try await write("commitRejected", Self.insertStatement(enrollment, serial: nil))
        }
    }

    package func certificate(serialNumber: String) async throws -> CertificateRecord? {
        try await run("certificate") { sql in
            try await sql.run(
                "SELECT \(Schema.columnList(Schema.certificateColumns)) FROM certificates WHERE serial = ?", [.text(serialNumber)]
            ).first.map(CertificateRecord.init(row:))
        }
    }

    package func soonestExpiring(issuer: String, now: Date) async throws -> CertificateRecord? {
        try await run("soonestExpiring") { sql in
            try await sql.run(
                """
                SELECT \(Schema.columnList(Schema.certificateColumns)) FROM certificates
                WHERE issuer = ? AND not_after > ? ORDER BY not_after LIMIT 1
                """, [.text(issuer), .instant(now)]
            ).first.map(CertificateRecord.init(row:))
        }
    }

    package func markDelivered(_ key: EnrollmentKey, reason: String) async throws {
        try await write(
            "markDelivered",
            SQLStatement(
                """
                UPDATE enrollments SET status = 'issued', reason = ?
                WHERE profile = ? AND transaction_id = ? AND csr_sha256 = ? AND status = 'notifying'
                """,
                [.text(reason), .text(key.profile), .text(key.transactionID), .text(key.csrSHA256)]))
    }

    @discardableResult
    package func withdraw(_ key: EnrollmentKey, outcome: Outcome, reason: String, revocation: Revocation) async throws -> Bool {
        try await transaction("withdraw") { sql in
            let updated = try await sql.run(
                """
                UPDATE enrollments SET status = 'rejected', outcome = ?, reason = ?
                WHERE profile = ? AND transaction_id = ? AND csr_sha256 = ? AND status = 'notifying' RETURNING serial
                """, [.text(outcome.rawValue), .text(reason), .text(key.profile), .text(key.transactionID), .text(key.csrSHA256)])
            guard !updated.isEmpty else { return false }
            _ = try await Self.revoke(revocation, on: sql, dialect: dialect)
            return true
        }
    }

    package func revoke(_ revocation: Revocation, audit: @escaping @Sendable (RevocationOutcome) throws -> AuditEvent?) async throws
        -> RevocationOutcome
    {
        let dialect = dialect
        return try await transaction("revoke") { sql in
            let outcome = try await Self.revoke(revocation, on: sql, dialect: dialect)
            if let event = try audit(outcome) { _ = try await sql.run(Self.insertStatement([event], provisional: false)) }
            return outcome
        }
    }

    package func insertAudit(_ events: [AuditEvent]) async throws {
        // One id once per statement (an upsert may not touch a row twice); the first copy wins.
        var seen = Set<String>()
        let unique = events.filter { seen.insert($0.id).inserted }
        guard !unique.isEmpty else { return }
        let dialect = dialect
        if dialect == .postgres, unique.count <= Self.auditRowsPerStatement {
            // One statement commits alone: no BEGIN and COMMIT round trips.
            try await write("insertAudit", Self.insertStatement(unique, provisional: false))
            return
        }
        try await transaction("insertAudit") { sql in
            var remaining = unique
            if dialect == .sqlite {
                // An edge event that agrees with its provisional row on every indexed column updates it in place.
                remaining = []
                for event in unique where try await sql.run(Self.inPlaceReplacement(event)).isEmpty { remaining.append(event) }
            }
            for chunk in remaining.chunks(of: Self.auditRowsPerStatement) {
                _ = try await sql.run(Self.insertStatement(chunk, provisional: false))
            }
        }
    }

    /// 19 binds a row: 200 rows stay far below SQLite's 32766 and PostgreSQL's 65535 binds.
    private static var auditRowsPerStatement: Int { 200 }

    package func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var clauses: [String] = []
        var binds: [SQLValue] = []
        func filter(_ clause: String, _ values: SQLValue...) {
            clauses.append(clause)
            binds += values
        }
        if let profile = query.profile { filter("profile = ?", .text(profile)) }
        if let outcome = query.outcome { filter("outcome = ?", .text(outcome.rawValue)) }
        if let transactionID = query.transactionID { filter("transaction_id = ?", .text(transactionID)) }
        if let device = query.device { filter("(device_name = ? OR claim_sub = ?)", .text(device), .text(device)) }
        if let subject = query.claimSubject { filter("claim_sub = ?", .text(subject)) }
        if let operation = query.operation { filter("operation = ?", .text(operation.rawValue)) }
        if let serial = query.serialNumber { filter("serial = ?", .text(serial)) }
        if let after = query.after {
            filter(#"("time" < ? OR ("time" = ? AND id > ?))"#, .instant(after.key), .instant(after.key), .text(after.id))
        }
        if let since = query.since { filter(#""time" >= ?"#, .instant(since)) }
        if let until = query.until { filter(#""time" < ?"#, .instant(until)) }
        if query.failuresOnly { clauses.append("outcome NOT IN ('success', 'pending')") }
        binds.append(.integer(Int64(max(1, min(query.limit, 10_001)))))
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let statement = SQLStatement(
            #"SELECT \#(Schema.columnList(Schema.auditColumns)) FROM audit_events \#(whereClause) ORDER BY "time" DESC, id LIMIT ?"#, binds)
        return try await run("auditEvents") { sql in try await sql.run(statement).map(AuditEvent.init(row:)) }
    }

    /// The batch is chosen by the `audit_events_time` index and deleted by key:
    /// the one form both engines accept (neither takes `DELETE … LIMIT` as standard).
    /// The daily rollup forgets the days wholly before the cutoff with them.
    package func deleteAuditEvents(before cutoff: Date, limit: Int) async throws -> Int {
        let statement = SQLStatement(
            #"DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE "time" < ? LIMIT ?) RETURNING 1 AS gone"#,
            [.instant(cutoff), .integer(Int64(max(1, limit)))])
        return try await run("deleteAuditEvents") { sql in
            let deleted = try await sql.run(statement).count
            try await sql.run("DELETE FROM audit_daily_outcomes WHERE day < ?", [.text(AuditRollup.day(cutoff))])
            return deleted
        }
    }

    /// Only PKIOperations count: admin events (reloads, Intune revocations) are not requests.
    /// All time (`since` nil) is the daily rollup of the days before
    /// yesterday plus a live count from yesterday on (see `AuditRollup`).
    package func outcomeCounts(since: Date?, now: Date) async throws -> [OutcomeCount] {
        let operation = SQLValue.text(AuditOperation.pkiOperation.rawValue)
        let live = #"SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = ? AND "time" >= ? GROUP BY profile, outcome"#
        let rollup = AuditRollup(dialect: dialect, now: now)
        // Days missing from the rollup first, each step an operation of its own (see `AuditRollup.daysPerStep`).
        if since == nil, let from = try await run("outcomeCounts", { sql in try await rollup.resumption(on: sql) }) {
            for step in rollup.steps(from: from) { try await run("outcomeCounts rollup") { sql in _ = try await sql.run(step) } }
        }
        return try await run("outcomeCounts") { sql in
            var totals: [OutcomeCount.Key: Int] = [:]
            if let since {
                try OutcomeCount.tally(try await sql.run(live, [operation, .instant(since)]), into: &totals)
            } else {
                try OutcomeCount.tally(try await sql.run(AuditRollup.totals), into: &totals)
                try OutcomeCount.tally(try await sql.run(live, [operation, .instant(rollup.cutoff)]), into: &totals)
            }
            return totals.map { OutcomeCount(profile: $0.key.profile, outcome: $0.key.outcome, count: $0.value) }
        }
    }

    package func revocations(issuer: String) async throws -> [RevocationEntry] {
        try await run("revocations") { sql in
            try await sql.run(
                "SELECT serial, revoked_at, reason, actor, invalidity_date FROM revocations WHERE issuer = ? ORDER BY serial", [.text(issuer)]
            ).map(RevocationEntry.init(row:))
        }
    }

    package func revocationStamp(issuer: String) async throws -> RevocationStamp {
        try await run("revocationStamp") { sql in
            guard let row = try await sql.run("SELECT count(*) AS n, max(revoked_at) AS latest FROM revocations WHERE issuer = ?", [.text(issuer)]).first
            else { return RevocationStamp(count: 0, latest: nil) }
            return RevocationStamp(count: Int(try row.integer("n") ?? 0), latest: try row.instant("latest"))
        }
    }

    // MARK: Statements shared by several operations

    private func conflictsAsStoreConflict(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch where isEnrollmentConflict(error) {
            throw StoreConflict()
        }
    }

    /// The text of `commitIssued` on PostgreSQL for a first enrollment with its audit row (`HotStatement.issuance`).
    static var issuanceSQL: String {
        SQLStatement.postgresSQL(steps: [certificateInsertSQL, enrollmentInsertSQL, auditInsertSQL(rows: 1)])
    }

    private static var certificateInsertSQL: String {
        "INSERT INTO certificates (\(Schema.columnList(Schema.certificateColumns))) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    }

    private static var enrollmentInsertSQL: String {
        """
        INSERT INTO enrollments (profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    }

    private static func auditInsertSQL(rows count: Int) -> String {
        let row = "(" + Array(repeating: "?", count: Schema.auditColumns.count).joined(separator: ", ") + ")"
        let rows = Array(repeating: row, count: count).joined(separator: ", ")
        return "INSERT INTO audit_events (\(Schema.columnList(Schema.auditColumns))) VALUES \(rows) \(Schema.auditConflictClause)"
    }

    private static func insertStatement(_ enrollment: EnrollmentRecord, serial: String?) -> SQLStatement {
        SQLStatement(
            enrollmentInsertSQL,
            [
                .text(enrollment.profile), .text(enrollment.transactionID), .text(enrollment.messageType), .text(enrollment.status.rawValue),
                .optional(serial), .text(enrollment.outcome.rawValue), .text(enrollment.reason), .text(enrollment.csrSHA256), .instant(enrollment.createdAt),
            ])
    }

    /// One multi-row INSERT of `events` (distinct ids).
    static func insertStatement(_ events: [AuditEvent], provisional: Bool) -> SQLStatement {
        SQLStatement(auditInsertSQL(rows: events.count), events.flatMap { auditValues($0, provisional: provisional) })
    }

    /// `Schema.auditInPlaceReplacementSQL` for the edge's `event`.
    static func inPlaceReplacement(_ event: AuditEvent) -> SQLStatement {
        let values = zip(Schema.auditColumns, auditValues(event, provisional: false)).dropFirst()
        let assigned = values.filter { !Schema.auditIndexedColumns.contains($0.0) }.map(\.1)
        let matched = values.filter { Schema.auditIndexedColumns.contains($0.0) }.flatMap { column, value in
            column == "serial" ? [value, value] : [value]
        }
        return SQLStatement(Schema.auditInPlaceReplacementSQL, assigned + [.text(event.id)] + matched)
    }

    /// An audit row's values in `Schema.auditColumns` order.
    private static func auditValues(_ event: AuditEvent, provisional: Bool) -> [SQLValue] {
        [
            .text(event.id), .instant(event.time), .text(event.edgeID), .optional(event.sourceAddress), .text(event.profile),
            .text(event.operation.rawValue), .optional(event.messageType), .optional(event.transactionID), .text(event.outcome.rawValue),
            .optional(event.failInfo), .optional(event.claimSubject), .optional(event.claimIssuer), .optional(event.deviceName),
            .optional(event.csrSubject), .optional(event.csrSANs), .optional(event.serialNumber), .real(event.latencyMilliseconds),
            .text(event.details), .boolean(provisional),
        ]
    }

    /// Inside the caller's transaction.
    private static func revoke(_ revocation: Revocation, on sql: any SQLExecutor, dialect: SQLDialect) async throws -> RevocationOutcome {
        let rows = try await sql.run(
            "SELECT \(Schema.columnList(Schema.certificateColumns)) FROM certificates WHERE serial = ?\(dialect.forUpdate)",
            [.text(revocation.serialNumber)])
        guard var record = try rows.first.map(CertificateRecord.init(row:)) else { return .notFound }
        if record.status == .revoked { return .alreadyRevoked(record) }
        try await sql.run("UPDATE certificates SET status = 'revoked' WHERE serial = ?", [.text(record.serialNumber)])
        try await sql.run(
            """
            INSERT INTO revocations (serial, issuer, revoked_at, reason, actor, invalidity_date) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (serial) DO NOTHING
            """,
            [
                .text(record.serialNumber), .text(record.issuer), .instant(revocation.at), .text(revocation.reason.rawValue),
                .text(revocation.actor), revocation.invalidityDate.map(SQLValue.instant) ?? .null,
            ])
        record.status = .revoked
        return .revoked(record)
    }
}

// MARK: Rows

extension EnrollmentRecord {
    init(row: any SQLRow) throws {
        let table = "enrollments"
        let stored = try row.required(row.text, "status", in: table)
        guard let status = Status(rawValue: stored) else {
            throw UnexpectedRow(table: table, column: "status", problem: "holds \"\(stored)\", which is not an enrollment status")
        }
        self.init(
            profile: try row.required(row.text, "profile", in: table), transactionID: try row.required(row.text, "transaction_id", in: table),
            messageType: try row.required(row.text, "message_type", in: table), status: status, serialNumber: try row.text("serial"),
            outcome: try row.outcome("outcome", in: table), reason: try row.required(row.text, "reason", in: table),
            csrSHA256: try row.required(row.text, "csr_sha256", in: table), createdAt: try row.required(row.instant, "created_at", in: table))
    }
}

extension CertificateRecord {
    init(row: any SQLRow) throws {
        let table = "certificates"
        let stored = try row.required(row.text, "status", in: table)
        guard let status = Status(rawValue: stored) else {
            throw UnexpectedRow(table: table, column: "status", problem: "holds \"\(stored)\", which is not a certificate status")
        }
        self.init(
            serialNumber: try row.required(row.text, "serial", in: table), issuer: try row.required(row.text, "issuer", in: table),
            profile: try row.required(row.text, "profile", in: table), subject: try row.required(row.text, "subject", in: table),
            subjectAlternativeNames: try row.required(row.text, "sans", in: table),
            notBefore: try row.required(row.instant, "not_before", in: table), notAfter: try row.required(row.instant, "not_after", in: table),
            status: status, transactionID: try row.required(row.text, "transaction_id", in: table),
            deviceID: try row.text("device_id"), der: try row.required(row.bytes, "der", in: table),
            createdAt: try row.required(row.instant, "created_at", in: table))
    }
}

extension AuditEvent {
    init(row: any SQLRow) throws {
        let table = "audit_events"
        self.init(
            id: try row.required(row.text, "id", in: table), time: try row.required(row.instant, "time", in: table),
            edgeID: try row.required(row.text, "edge", in: table), sourceAddress: try row.text("source_ip"),
            profile: try row.required(row.text, "profile", in: table), operation: try row.operation("operation", in: table),
            messageType: try row.text("message_type"), transactionID: try row.text("transaction_id"),
            outcome: try row.outcome("outcome", in: table), failInfo: try row.text("fail_info"), claimSubject: try row.text("claim_sub"),
            claimIssuer: try row.text("claim_iss"), deviceName: try row.text("device_name"), csrSubject: try row.text("csr_subject"),
            csrSANs: try row.text("csr_sans"), serialNumber: try row.text("serial"),
            latencyMilliseconds: try row.required(row.real, "latency_ms", in: table), details: try row.required(row.text, "details", in: table))
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements, in order.
    fileprivate func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
