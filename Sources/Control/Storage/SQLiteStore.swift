import Foundation
import Logging
import NIOCore
import SQLiteNIO
import Synchronization
import ScepterProtocol

/// The embedded-mode store: one SQLite file in WAL mode.
///
/// `synchronous=NORMAL` survives a crash of the process but can lose the last
/// commits on power loss; production deployments use PostgreSQL.
public final class SQLiteStore: ControlStore {
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let closed = Atomic<Bool>(false)

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    deinit {
        // A store dropped without close() still closes its handle (the close
        // runs on the thread pool and keeps the connection alive until then).
        if !closed.load(ordering: .acquiring) {
            _ = connection.close()
        }
    }

    /// Opens (creating if needed) the database at `path`; nil: in memory.
    public static func open(path: String?, logger: Logger) async throws -> SQLiteStore {
        let storage: SQLiteConnection.Storage = path.map { .file(path: $0) } ?? .memory
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        let store = SQLiteStore(connection: connection)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
            _ = try await connection.query(pragma)
        }
        return store
    }

    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await connection.close()
    }

    public func migrate() async throws {
        try await lock.withLock {
            _ = try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            let applied = Set(try await connection.query("SELECT version FROM schema_migrations").compactMap {
                $0.column("version")?.integer.map { Int($0) }
            })
            for migration in Schema.sqlite where !applied.contains(migration.version) {
                try await transaction {
                    for statement in migration.statements {
                        _ = try await connection.query(statement)
                    }
                    _ = try await connection.query(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                        [.integer(migration.version), .text(Timestamp.format(Date()))])
                }
            }
        }
    }

    public func enrollment(profile: String, transactionID: String) async throws -> EnrollmentRecord? {
        try await lock.withLock {
            let rows = try await connection.query(
                "SELECT * FROM enrollments WHERE profile = ? AND transaction_id = ?", [.text(profile), .text(transactionID)])
            return rows.first.flatMap(EnrollmentRecord.init(row:))
        }
    }

    public func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?) async throws {
        try await lock.withLock {
            try await transaction {
                // The certificate first, so the enrollment row can reference it in one insert.
                _ = try await connection.query(
                    """
                    INSERT INTO certificates (serial, issuer, profile, subject, sans, not_before, not_after, status,
                        transaction_id, device_id, der, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(certificate.serialNumber), .text(certificate.issuer), .text(certificate.profile),
                        .text(certificate.subject), .text(certificate.subjectAlternativeNames),
                        .text(Timestamp.format(certificate.notBefore)), .text(Timestamp.format(certificate.notAfter)),
                        .text(certificate.status), .text(certificate.transactionID),
                        certificate.deviceID.map { .text($0) } ?? .null, .blob(ByteBuffer(bytes: certificate.der)),
                        .text(Timestamp.format(certificate.createdAt)),
                    ])
                try await insertEnrollment(enrollment, serial: certificate.serialNumber)
                if let audit { try await insertAuditRow(audit, provisional: true) }
            }
        }
    }

    public func commitRejected(_ enrollment: EnrollmentRecord) async throws {
        try await lock.withLock {
            try await insertEnrollment(enrollment, serial: nil)
        }
    }

    /// The primary key on (profile, transaction_id) decides a race: the loser gets StoreConflict.
    private func insertEnrollment(_ enrollment: EnrollmentRecord, serial: String?) async throws {
        do {
            _ = try await connection.query(
                """
                INSERT INTO enrollments (profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(enrollment.profile), .text(enrollment.transactionID), .text(enrollment.messageType),
                    .text(enrollment.status.rawValue), serial.map { .text($0) } ?? .null, .text(enrollment.outcome.rawValue),
                    .text(enrollment.reason), .text(enrollment.csrSHA256), .text(Timestamp.format(enrollment.createdAt)),
                ])
        } catch let error as SQLiteError where error.reason == .constraintPrimaryKeyFailed || error.reason == .constraint {
            throw StoreConflict()
        }
    }

    public func certificate(serialNumber: String) async throws -> CertificateRecord? {
        try await lock.withLock {
            let rows = try await connection.query("SELECT * FROM certificates WHERE serial = ?", [.text(serialNumber)])
            return rows.first.flatMap(CertificateRecord.init(row:))
        }
    }

    public func markDelivered(profile: String, transactionID: String, reason: String) async throws {
        try await lock.withLock {
            _ = try await connection.query(
                "UPDATE enrollments SET status = 'issued', reason = ? WHERE profile = ? AND transaction_id = ? AND status = 'notifying'",
                [.text(reason), .text(profile), .text(transactionID)])
        }
    }

    @discardableResult
    public func withdraw(profile: String, transactionID: String, outcome: Outcome, reason: String, revocation: Revocation) async throws -> Bool {
        try await lock.withLock {
            var withdrawn = false
            try await transaction {
                let updated = try await connection.query(
                    """
                    UPDATE enrollments SET status = 'rejected', outcome = ?, reason = ?
                    WHERE profile = ? AND transaction_id = ? AND status = 'notifying' RETURNING serial
                    """,
                    [.text(outcome.rawValue), .text(reason), .text(profile), .text(transactionID)])
                guard !updated.isEmpty else { return }
                _ = try await revokeRow(revocation)
                withdrawn = true
            }
            return withdrawn
        }
    }

    public func revoke(_ revocation: Revocation) async throws -> RevocationOutcome {
        try await lock.withLock {
            var outcome = RevocationOutcome.notFound
            try await transaction { outcome = try await revokeRow(revocation) }
            return outcome
        }
    }

    /// The caller holds the lock and a transaction.
    private func revokeRow(_ revocation: Revocation) async throws -> RevocationOutcome {
        let rows = try await connection.query("SELECT * FROM certificates WHERE serial = ?", [.text(revocation.serialNumber)])
        guard var record = rows.first.flatMap(CertificateRecord.init(row:)) else { return .notFound }
        if record.status == "revoked" { return .alreadyRevoked(record) }
        _ = try await connection.query("UPDATE certificates SET status = 'revoked' WHERE serial = ?", [.text(record.serialNumber)])
        _ = try await connection.query(
            """
            INSERT INTO revocations (serial, issuer, revoked_at, reason, actor) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (serial) DO NOTHING
            """,
            [
                .text(record.serialNumber), .text(record.issuer), .text(Timestamp.format(revocation.at)), .text(revocation.reason.rawValue),
                .text(revocation.actor),
            ])
        record.status = "revoked"
        return .revoked(record)
    }

    public func insertAudit(_ event: AuditEvent) async throws {
        try await lock.withLock {
            try await insertAuditRow(event, provisional: false)
        }
    }

    /// Callers hold `lock`.
    private func insertAuditRow(_ event: AuditEvent, provisional: Bool) async throws {
        _ = try await connection.query(
            """
            INSERT INTO audit_events (\(Schema.auditColumnList))
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            \(Schema.auditConflictClause)
            """,
            [
                .text(event.id), .text(Timestamp.format(event.time)), .text(event.edgeID), .optional(event.sourceAddress),
                .text(event.profile), .text(event.operation), .optional(event.messageType), .optional(event.transactionID),
                .text(event.outcome.rawValue), .optional(event.failInfo), .optional(event.claimSubject),
                .optional(event.claimIssuer), .optional(event.deviceName), .optional(event.csrSubject),
                .optional(event.csrSANs), .optional(event.serialNumber), .float(event.latencyMilliseconds),
                .text(event.details), .integer(provisional ? 1 : 0),
            ])
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var clauses: [String] = []
        var binds: [SQLiteData] = []
        if let profile = query.profile { clauses.append("profile = ?"); binds.append(.text(profile)) }
        if let outcome = query.outcome { clauses.append("outcome = ?"); binds.append(.text(outcome.rawValue)) }
        if let transactionID = query.transactionID { clauses.append("transaction_id = ?"); binds.append(.text(transactionID)) }
        if let since = query.since { clauses.append("time >= ?"); binds.append(.text(Timestamp.format(since))) }
        if let until = query.until { clauses.append("time < ?"); binds.append(.text(Timestamp.format(until))) }
        if query.failuresOnly { clauses.append("outcome NOT IN ('success', 'pending')") }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        binds.append(.integer(max(1, min(query.limit, 10_000))))
        let sql = "SELECT * FROM audit_events \(whereClause) ORDER BY time DESC, id LIMIT ?"
        return try await lock.withLock {
            try await connection.query(sql, binds).compactMap(AuditEvent.init(row:))
        }
    }

    public func outcomeCounts(since: Date?) async throws -> [OutcomeCount] {
        let rows = try await lock.withLock {
            if let since {
                return try await connection.query(
                    "SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = ? AND time >= ? GROUP BY profile, outcome",
                    [.text(Operation.pkiOperation.rawValue), .text(Timestamp.format(since))])
            }
            return try await connection.query(
                "SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = ? GROUP BY profile, outcome",
                [.text(Operation.pkiOperation.rawValue)])
        }
        return rows.compactMap { row in
            guard let profile = row.column("profile")?.string, let outcome = row.column("outcome")?.string,
                let count = row.column("n")?.integer
            else { return nil }
            return OutcomeCount(profile: profile, outcome: outcome, count: count)
        }
    }

    public func revocations(issuer: String) async throws -> [(serialNumber: String, revokedAt: Date)] {
        let rows = try await lock.withLock {
            try await connection.query("SELECT serial, revoked_at FROM revocations WHERE issuer = ?", [.text(issuer)])
        }
        return rows.compactMap { row in
            guard let serial = row.column("serial")?.string, let date = row.column("revoked_at")?.string.flatMap(Timestamp.parse)
            else { return nil }
            return (serial, date)
        }
    }

    /// Runs `body` in a transaction; the caller holds the lock.
    private func transaction(_ body: () async throws -> Void) async throws {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            try await body()
            _ = try await connection.query("COMMIT")
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }
}

extension SQLiteData {
    fileprivate static func optional(_ value: String?) -> SQLiteData { value.map { .text($0) } ?? .null }
}

extension EnrollmentRecord {
    fileprivate init?(row: SQLiteRow) {
        guard let profile = row.column("profile")?.string, let transactionID = row.column("transaction_id")?.string,
            let messageType = row.column("message_type")?.string,
            let status = row.column("status")?.string.flatMap(Status.init(rawValue:)),
            let outcome = row.column("outcome")?.string.flatMap(Outcome.init(rawValue:)),
            let reason = row.column("reason")?.string, let csrSHA256 = row.column("csr_sha256")?.string,
            let createdAt = row.column("created_at")?.string.flatMap(Timestamp.parse)
        else { return nil }
        self.init(
            profile: profile, transactionID: transactionID, messageType: messageType, status: status,
            serialNumber: row.column("serial")?.string, outcome: outcome, reason: reason, csrSHA256: csrSHA256,
            createdAt: createdAt)
    }
}

extension CertificateRecord {
    fileprivate init?(row: SQLiteRow) {
        guard let serial = row.column("serial")?.string, let issuer = row.column("issuer")?.string,
            let profile = row.column("profile")?.string, let subject = row.column("subject")?.string,
            let sans = row.column("sans")?.string,
            let notBefore = row.column("not_before")?.string.flatMap(Timestamp.parse),
            let notAfter = row.column("not_after")?.string.flatMap(Timestamp.parse),
            let status = row.column("status")?.string, let transactionID = row.column("transaction_id")?.string,
            case .blob(let der) = row.column("der"),
            let createdAt = row.column("created_at")?.string.flatMap(Timestamp.parse)
        else { return nil }
        self.init(
            serialNumber: serial, issuer: issuer, profile: profile, subject: subject, subjectAlternativeNames: sans,
            notBefore: notBefore, notAfter: notAfter, status: status, transactionID: transactionID,
            deviceID: row.column("device_id")?.string, der: Array(der.readableBytesView), createdAt: createdAt)
    }
}

extension AuditEvent {
    fileprivate init?(row: SQLiteRow) {
        guard let id = row.column("id")?.string, let time = row.column("time")?.string.flatMap(Timestamp.parse),
            let edge = row.column("edge")?.string, let profile = row.column("profile")?.string,
            let operation = row.column("operation")?.string,
            let outcome = row.column("outcome")?.string.flatMap(Outcome.init(rawValue:)),
            let latency = row.column("latency_ms")?.double, let details = row.column("details")?.string
        else { return nil }
        self.init(
            id: id, time: time, edgeID: edge, sourceAddress: row.column("source_ip")?.string, profile: profile,
            operation: operation, messageType: row.column("message_type")?.string,
            transactionID: row.column("transaction_id")?.string, outcome: outcome,
            failInfo: row.column("fail_info")?.string, claimSubject: row.column("claim_sub")?.string,
            claimIssuer: row.column("claim_iss")?.string, deviceName: row.column("device_name")?.string,
            csrSubject: row.column("csr_subject")?.string, csrSANs: row.column("csr_sans")?.string,
            serialNumber: row.column("serial")?.string, latencyMilliseconds: latency, details: details)
    }
}

/// ISO 8601 UTC timestamps with milliseconds: sortable as text, readable in `sqlite3`.
enum Timestamp {
    static func format(_ date: Date) -> String {
        // Round to whole milliseconds first: formatting truncates, and binary
        // fractions would otherwise lose a millisecond (0.027 -> .026).
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (whole, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let seconds = fraction < 0 ? whole - 1 : whole
        let millis = fraction < 0 ? fraction + 1000 : fraction
        let base = Date(timeIntervalSince1970: TimeInterval(seconds))
            .formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
        let padded = String(millis + 1000).dropFirst()
        return base.dropLast() + "." + padded + "Z"
    }

    static func parse(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
