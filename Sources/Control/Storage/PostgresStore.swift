import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import ScepterProtocol

/// The cluster's store (SPEC §7): PostgreSQL through postgres-nio's
/// `PostgresClient` pool, with the schema and semantics of `SQLiteStore`.
///
/// Lifecycle: `run()` drives the pool; operations other than `migrate()`
/// (which uses a connection of its own, so it can run first) need it running.
/// Graceful shutdown or cancellation of `run()` closes every connection at
/// once: operations in flight fail (their transactions roll back) and later
/// ones are refused with `Error.Code.shutDown`, so shutdown never waits on the
/// database. Put the store in the process's `ServiceGroup` before the services
/// that use it: the group stops services in reverse order, so they drain
/// their requests while the store still serves them.
///
/// Every operation is bounded (see `Configuration`): getting a connection
/// takes at most `connectTimeout`, so an unreachable server fails operations
/// with `Error.Code.unavailable` instead of hanging; the server cancels a
/// statement past `queryTimeout`, and the client closes a connection whose
/// operation outlives it by a second (a server that stopped answering).
public final class PostgresStore: ControlStore, Service {
    public let configuration: Configuration
    let client: PostgresClient
    let logger: Logger
    private let phase = Mutex(Phase.idle)

    private enum Phase { case idle, running, stopping, stopped }

    /// Key of the advisory lock that serializes migrations across replicas ("SCEPTER!").
    static let migrationLock: Int64 = 0x5343_4550_5445_5221

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: configuration.clientConfiguration(), backgroundLogger: logger)
    }

    // MARK: Lifecycle

    /// Runs the connection pool until graceful shutdown or cancellation, then
    /// closes its connections and returns. Call it once.
    public func run() async throws {
        let started = phase.withLock { phase in
            guard phase == .idle else { return false }
            phase = .running
            return true
        }
        guard started else { throw Error(code: .shutDown, "run: the store has already run; make a new PostgresStore") }
        logger.info("PostgreSQL store running", metadata: ["database": "\(configuration)"])
        await withTaskCancellationOrGracefulShutdownHandler {
            // Returns once the pool is closed: on graceful shutdown it closes
            // leased connections too, failing queries in flight, and fails
            // operations waiting for a connection.
            await client.run()
        } onCancelOrGracefulShutdown: {
            self.phase.withLock { $0 = .stopping }
        }
        phase.withLock { $0 = .stopped }
        logger.info("PostgreSQL store stopped")
    }

    private func ensureOpen(_ operation: String) throws {
        let current = phase.withLock { $0 }
        if current == .stopping || current == .stopped {
            throw Error(code: .shutDown, "\(operation): the store is shut down")
        }
    }

    // MARK: ControlStore

    /// Applies pending migrations in one transaction on a connection of its
    /// own, holding an advisory lock so that replicas starting together take
    /// turns. Refuses a database migrated by a newer Scepter.
    public func migrate() async throws {
        try ensureOpen("migrate")
        let connectionConfiguration = try configuration.connectionConfiguration()
        try await bounded("migrate", budget: configuration.migrationTimeout + .seconds(1)) { attempt in
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration, id: 0, logger: self.logger)
            } catch let error as PSQLError {
                throw Error(error, doing: "migrate: connecting", at: self.configuration)
            }
            attempt.connected(connection)
            do {
                try await withTaskCancellationHandler {
                    try await self.applyMigrations(on: connection)
                } onCancel: {
                    connection.closeNow()
                }
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        }
    }

    private func applyMigrations(on connection: PostgresConnection) async throws {
        let latest = Schema.postgres.map(\.version).max() ?? 0
        let limit = Configuration.milliseconds(configuration.migrationTimeout)
        try await transaction(on: connection, "migrate") {
            // A migration may outlast one query's limit (an index on a large table).
            try await self.execute("SET LOCAL statement_timeout = \(unescaped: String(limit))", on: connection, "migrate: SET statement_timeout")
            try await self.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", on: connection, "migrate: taking the migration lock")
            try await self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
                on: connection, "migrate: CREATE TABLE schema_migrations")
            let rows = try await self.execute("SELECT version FROM schema_migrations", on: connection, "migrate: reading schema_migrations")
            let applied = Set(try rows.map { try self.decodeValue($0, Int.self, "schema_migrations") })
            if let newest = applied.max(), newest > latest {
                throw Error(
                    code: .schemaTooNew,
                    "migrate: the database \(self.configuration.database) is at schema version \(newest), this Scepter knows versions up to \(latest); run a Scepter at least as new as the one that migrated it (migrations are forward-only)")
            }
            for migration in Schema.postgres where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await self.execute(PostgresQuery(unsafeSQL: statement), on: connection, "migrate: migration \(migration.version)")
                }
                try await self.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(migration.version), now())", on: connection,
                    "migrate: recording migration \(migration.version)")
                self.logger.info("applied schema migration", metadata: ["version": "\(migration.version)"])
            }
        }
    }

    /// Whether a pooled connection answers `SELECT 1` (readiness).
    public func isHealthy() async -> Bool {
        do {
            return try await withConnection("health check") { connection in
                _ = try await self.execute("SELECT 1", on: connection, "health check: SELECT 1")
                return true
            }
        } catch {
            return false
        }
    }

    public func enrollment(profile: String, transactionID: String) async throws -> EnrollmentRecord? {
        try await withConnection("enrollment") { connection in
            let rows = try await self.execute(
                """
                SELECT profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at
                FROM enrollments WHERE profile = \(profile) AND transaction_id = \(transactionID)
                """, on: connection, "enrollment: SELECT FROM enrollments")
            return try rows.first.map { try EnrollmentRecord(row: $0, store: self) }
        }
    }

    /// Writes the enrollment, the certificate and the provisional audit row in one transaction. A second
    /// writer of the same (profile, transaction) waits for the first to
    /// commit, then gets the unique violation, which becomes `StoreConflict`.
    public func commitIssued(_ certificate: CertificateRecord, enrollment: EnrollmentRecord, audit: AuditEvent?) async throws {
        try await withConnection("commitIssued") { connection in
            try await self.transaction(on: connection, "commitIssued") {
                try await self.insertEnrollment(enrollment, on: connection, "commitIssued")
                try await self.execute(
                    """
                    INSERT INTO certificates (serial, issuer, profile, subject, sans, not_before, not_after, status,
                        transaction_id, device_id, der, created_at)
                    VALUES (\(certificate.serialNumber), \(certificate.issuer), \(certificate.profile), \(certificate.subject),
                        \(certificate.subjectAlternativeNames), \(PostgresTimestamp(certificate.notBefore)),
                        \(PostgresTimestamp(certificate.notAfter)), \(certificate.status), \(certificate.transactionID),
                        \(certificate.deviceID), \(ByteBuffer(bytes: certificate.der)), \(PostgresTimestamp(certificate.createdAt)))
                    """, on: connection, "commitIssued: INSERT INTO certificates")
                // The enrollment row references the certificate: link it once both exist.
                try await self.execute(
                    """
                    UPDATE enrollments SET serial = \(certificate.serialNumber)
                    WHERE profile = \(enrollment.profile) AND transaction_id = \(enrollment.transactionID)
                    """, on: connection, "commitIssued: UPDATE enrollments")
                if let audit { try await self.insertAuditRow(audit, provisional: true, on: connection, "commitIssued") }
            }
        }
    }

    public func commitRejected(_ enrollment: EnrollmentRecord) async throws {
        try await withConnection("commitRejected") { connection in
            try await self.insertEnrollment(enrollment, on: connection, "commitRejected")
        }
    }

    private func insertEnrollment(_ enrollment: EnrollmentRecord, on connection: PostgresConnection, _ operation: String) async throws {
        do {
            try await execute(
                """
                INSERT INTO enrollments (profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at)
                VALUES (\(enrollment.profile), \(enrollment.transactionID), \(enrollment.messageType), \(enrollment.status.rawValue),
                    NULL, \(enrollment.outcome.rawValue), \(enrollment.reason), \(enrollment.csrSHA256),
                    \(PostgresTimestamp(enrollment.createdAt)))
                """, on: connection, "\(operation): INSERT INTO enrollments")
        } catch let error as Error where error.sqlState == Error.uniqueViolation && error.constraint == "enrollments_pkey" {
            throw StoreConflict()
        }
    }

    public func certificate(serialNumber: String) async throws -> CertificateRecord? {
        try await withConnection("certificate") { connection in
            let rows = try await self.execute(
                """
                SELECT serial, issuer, profile, subject, sans, not_before, not_after, status, transaction_id, device_id, der, created_at
                FROM certificates WHERE serial = \(serialNumber)
                """, on: connection, "certificate: SELECT FROM certificates")
            return try rows.first.map { try CertificateRecord(row: $0, store: self) }
        }
    }

    public func markDelivered(profile: String, transactionID: String, reason: String) async throws {
        try await withConnection("markDelivered") { connection in
            try await self.execute(
                """
                UPDATE enrollments SET status = 'issued', reason = \(reason)
                WHERE profile = \(profile) AND transaction_id = \(transactionID) AND status = 'notifying'
                """, on: connection, "markDelivered: UPDATE enrollments")
        }
    }

    @discardableResult
    public func withdraw(profile: String, transactionID: String, outcome: Outcome, reason: String, revocation: Revocation) async throws -> Bool {
        try await withConnection("withdraw") { connection in
            var withdrawn = false
            try await self.transaction(on: connection, "withdraw") {
                let updated = try await self.execute(
                    """
                    UPDATE enrollments SET status = 'rejected', outcome = \(outcome.rawValue), reason = \(reason)
                    WHERE profile = \(profile) AND transaction_id = \(transactionID) AND status = 'notifying' RETURNING serial
                    """, on: connection, "withdraw: UPDATE enrollments")
                guard !updated.isEmpty else { return }
                _ = try await self.revokeRow(revocation, on: connection, "withdraw")
                withdrawn = true
            }
            return withdrawn
        }
    }

    public func revoke(_ revocation: Revocation) async throws -> RevocationOutcome {
        try await withConnection("revoke") { connection in
            var outcome = RevocationOutcome.notFound
            try await self.transaction(on: connection, "revoke") {
                outcome = try await self.revokeRow(revocation, on: connection, "revoke")
            }
            return outcome
        }
    }

    /// Inside the caller's transaction; the row lock orders concurrent revocations of one serial.
    private func revokeRow(_ revocation: Revocation, on connection: PostgresConnection, _ operation: String) async throws -> RevocationOutcome {
        let rows = try await execute(
            """
            SELECT serial, issuer, profile, subject, sans, not_before, not_after, status, transaction_id, device_id, der, created_at
            FROM certificates WHERE serial = \(revocation.serialNumber) FOR UPDATE
            """, on: connection, "\(operation): SELECT FROM certificates")
        guard var record = try rows.first.map({ try CertificateRecord(row: $0, store: self) }) else { return .notFound }
        if record.status == "revoked" { return .alreadyRevoked(record) }
        try await execute(
            "UPDATE certificates SET status = 'revoked' WHERE serial = \(record.serialNumber)", on: connection,
            "\(operation): UPDATE certificates")
        try await execute(
            """
            INSERT INTO revocations (serial, issuer, revoked_at, reason, actor)
            VALUES (\(record.serialNumber), \(record.issuer), \(PostgresTimestamp(revocation.at)), \(revocation.reason.rawValue), \(revocation.actor))
            ON CONFLICT (serial) DO NOTHING
            """, on: connection, "\(operation): INSERT INTO revocations")
        record.status = "revoked"
        return .revoked(record)
    }

    public func insertAudit(_ event: AuditEvent) async throws {
        try await withConnection("insertAudit") { connection in
            try await self.insertAuditRow(event, provisional: false, on: connection, "insertAudit")
        }
    }

    private func insertAuditRow(_ event: AuditEvent, provisional: Bool, on connection: PostgresConnection, _ operation: String) async throws {
        try await execute(
            """
            INSERT INTO audit_events (\(unescaped: Schema.auditColumnList))
            VALUES (\(event.id), \(PostgresTimestamp(event.time)), \(event.edgeID), \(event.sourceAddress), \(event.profile),
                \(event.operation), \(event.messageType), \(event.transactionID), \(event.outcome.rawValue), \(event.failInfo),
                \(event.claimSubject), \(event.claimIssuer), \(event.deviceName), \(event.csrSubject), \(event.csrSANs),
                \(event.serialNumber), \(event.latencyMilliseconds), \(event.details), \(provisional))
            \(unescaped: Schema.auditConflictClause)
            """, on: connection, "\(operation): INSERT INTO audit_events")
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        func filter(_ column: String, _ comparison: String, _ value: some PostgresDynamicTypeEncodable) {
            binds.append(value)
            clauses.append("\(column) \(comparison) $\(binds.count)")
        }
        if let profile = query.profile { filter("profile", "=", profile) }
        if let outcome = query.outcome { filter("outcome", "=", outcome.rawValue) }
        if let transactionID = query.transactionID { filter("transaction_id", "=", transactionID) }
        if let since = query.since { filter("\"time\"", ">=", PostgresTimestamp(since)) }
        if let until = query.until { filter("\"time\"", "<", PostgresTimestamp(until)) }
        if query.failuresOnly { clauses.append("outcome NOT IN ('success', 'pending')") }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        binds.append(max(1, min(query.limit, 10_000)))
        let sql = """
            SELECT id, "time", edge, source_ip, profile, operation, message_type, transaction_id, outcome, fail_info,
                claim_sub, claim_iss, device_name, csr_subject, csr_sans, serial, latency_ms, details
            FROM audit_events \(whereClause) ORDER BY "time" DESC, id LIMIT $\(binds.count)
            """
        let statement = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await withConnection("auditEvents") { connection in
            let rows = try await self.execute(statement, on: connection, "auditEvents: SELECT FROM audit_events")
            return try rows.map { try AuditEvent(row: $0, store: self) }
        }
    }

    public func outcomeCounts(since: Date?) async throws -> [OutcomeCount] {
        try await withConnection("outcomeCounts") { connection in
            let rows = try await self.execute(
                """
                SELECT profile, outcome, count(*) FROM audit_events
                WHERE operation = \(Operation.pkiOperation.rawValue)
                    AND (\(since == nil) OR "time" >= \(PostgresTimestamp(since ?? Date(timeIntervalSince1970: 0))))
                GROUP BY profile, outcome
                """, on: connection, "outcomeCounts: SELECT FROM audit_events")
            return try rows.map { row in
                let (profile, outcome, count) = try self.decode(row, (String, String, Int64).self, "audit_events")
                return OutcomeCount(profile: profile, outcome: outcome, count: Int(count))
            }
        }
    }

    public func revocations(issuer: String) async throws -> [(serialNumber: String, revokedAt: Date)] {
        try await withConnection("revocations") { connection in
            let rows = try await self.execute(
                "SELECT serial, revoked_at FROM revocations WHERE issuer = \(issuer)", on: connection,
                "revocations: SELECT FROM revocations")
            return try rows.map { row in
                let (serial, revokedAt) = try self.decode(row, (String, PostgresTimestamp).self, "revocations")
                return (serialNumber: serial, revokedAt: revokedAt.date)
            }
        }
    }

    // MARK: Connections, statements, transactions

    /// Runs `body` on a pooled connection, within the configured limits.
    func withConnection<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try ensureOpen(operation)
        return try await bounded(operation, budget: configuration.queryTimeout + .seconds(1)) { attempt in
            // The pool may lend a connection the server closed a moment ago
            // (a restart, pg_terminate_backend) before it noticed: nothing was
            // sent on it, so take another, a few times.
            for _ in 0..<3 {
                do {
                    return try await self.client.withConnection { connection in
                        guard !connection.isClosed else { throw StaleConnection() }
                        attempt.connected(connection)
                        return try await withTaskCancellationHandler {
                            try await body(connection)
                        } onCancel: {
                            connection.closeNow()
                        }
                    }
                } catch is StaleConnection {
                    continue
                } catch where attempt.connectedAt == nil && !(error is CancellationError) {
                    throw self.leaseFailed(operation, error)
                }
            }
            throw Error(code: .unavailable, "\(operation): the pool lent only closed connections to PostgreSQL at \(self.configuration.endpoint)")
        }
    }

    /// A lent connection that was closed before anything was sent on it.
    private struct StaleConnection: Swift.Error {}

    /// Translates the pool's refusal to lend a connection.
    private func leaseFailed(_ operation: String, _ error: any Swift.Error) -> Error {
        let current = phase.withLock { $0 }
        if current == .stopping || current == .stopped {
            return Error(code: .shutDown, "\(operation): the store is shut down")
        }
        if let error = error as? PSQLError {
            return Error(error, doing: "\(operation): getting a connection", at: configuration)
        }
        return Error(code: .unavailable, "\(operation): no connection from the pool for PostgreSQL at \(configuration.endpoint) (\(error))")
    }

    /// Races `work` against the clock: it has `connectTimeout` to get its
    /// connection, then `budget` from then on. Past the first it is
    /// cancelled; past the second its connection is closed, and whatever the
    /// server had answered by then still counts (a statement_timeout error,
    /// say), while a failure caused by the close reports the deadline.
    private func bounded<T: Sendable>(
        _ operation: String, budget: Duration, _ work: @escaping @Sendable (Attempt) async throws -> T
    ) async throws -> T {
        let attempt = Attempt()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                do {
                    return try await work(attempt)
                } catch {
                    throw attempt.explain(error)
                }
            }
            group.addTask {
                try await Task.sleep(for: self.configuration.connectTimeout)
                if let connectedAt = attempt.connectedAt {
                    try await Task.sleep(until: connectedAt + budget)
                    attempt.expire(
                        Error(
                            code: .timedOut,
                            "\(operation): no answer from PostgreSQL at \(self.configuration.endpoint) within \(Self.describe(budget)); connection closed"))
                } else {
                    attempt.expire(self.unavailable(operation))
                }
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let value = result { return value }
                // Expired: still without a connection, stop waiting for one;
                // with one, it was closed and the work ends by itself.
                if attempt.connectedAt == nil { group.cancelAll() }
            }
            preconditionFailure("the work task neither returned nor threw")
        }
    }

    private func unavailable(_ operation: String) -> Error {
        let current = phase.withLock { $0 }
        let hint =
            if operation == "migrate" {
                "server down or unreachable"
            } else if current == .idle {
                "PostgresStore.run() has not started"
            } else {
                "server down or unreachable, or all \(configuration.maximumConnections) pooled connections busy"
            }
        return Error(
            code: .unavailable,
            "\(operation): no connection to PostgreSQL at \(configuration.endpoint) (database \(configuration.database), user \(configuration.username)) within \(Self.describe(configuration.connectTimeout)): \(hint)")
    }

    /// Runs `body` between BEGIN and COMMIT; anything thrown rolls back.
    private func transaction(on connection: PostgresConnection, _ operation: String, _ body: () async throws -> Void) async throws {
        try await execute("BEGIN", on: connection, "\(operation): BEGIN")
        do {
            try await body()
        } catch {
            // A closed connection has rolled back on the server already.
            if !connection.isClosed {
                do {
                    try await execute("ROLLBACK", on: connection, "\(operation): ROLLBACK")
                } catch {
                    // Unknown transaction state: the pool must not lend this connection again.
                    connection.closeNow()
                }
            }
            throw error
        }
        try await execute("COMMIT", on: connection, "\(operation): COMMIT")
    }

    /// Runs one statement and reads all its rows, translating errors.
    ///
    /// postgres-nio never answers a statement sent on a connection that has
    /// closed (its channel handler is gone), so a closed connection is refused
    /// here, and the wait ends when the task is cancelled: the deadlines of
    /// `bounded` can always end an operation.
    @discardableResult
    private func execute(_ query: PostgresQuery, on connection: PostgresConnection, _ doing: @autoclosure () -> String) async throws -> [PostgresRow] {
        guard !connection.isClosed else {
            throw Error(code: .unavailable, "\(doing()): the connection to PostgreSQL at \(configuration.endpoint) is closed")
        }
        do {
            return try await CancellableWait<PostgresQueryResult>().value(of: connection.query(query, logger: logger)).rows
        } catch let error as PSQLError {
            throw Error(error, doing: doing(), at: configuration)
        }
    }

    fileprivate func decode<each Column: PostgresDecodable>(
        _ row: PostgresRow, _ columns: (repeat each Column).Type, _ table: String
    ) throws -> (repeat each Column) {
        do {
            return try row.decode(columns)
        } catch let error as PostgresDecodingError {
            throw Error(error, reading: table)
        }
    }

    fileprivate func decodeValue<Column: PostgresDecodable>(_ row: PostgresRow, _ column: Column.Type, _ table: String) throws -> Column {
        do {
            return try row.decode(column)
        } catch let error as PostgresDecodingError {
            throw Error(error, reading: table)
        }
    }

    /// "5 s", "250 ms".
    static func describe(_ duration: Duration) -> String {
        let milliseconds = Configuration.milliseconds(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Awaits a future, or gives up with `CancellationError` when the task is
/// cancelled first (the future's eventual result is then dropped).
private final class CancellableWait<Value: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Value, any Swift.Error>)
        case finished
    }

    private let state = Mutex(State.idle)

    func value(of future: EventLoopFuture<Value>) async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let armed = state.withLock { state in
                    guard case .idle = state else { return false }
                    state = .waiting(continuation)
                    return true
                }
                guard armed else { return continuation.resume(throwing: CancellationError()) }
                future.whenComplete { self.finish($0) }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
        }
    }

    private func finish(_ result: Result<Value, any Swift.Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, any Swift.Error>? in
            switch state {
            case .idle:
                state = .finished
                return nil
            case .waiting(let continuation):
                state = .finished
                return continuation
            case .finished:
                return nil
            }
        }
        continuation?.resume(with: result)
    }
}

/// One bounded operation: when it got its connection, and whether its time ran out.
private final class Attempt: Sendable {
    private struct State {
        var connection: PostgresConnection?
        var connectedAt: ContinuousClock.Instant?
        var expiry: PostgresStore.Error?
    }

    private let state = Mutex(State())

    func connected(_ connection: PostgresConnection) {
        let expired = state.withLock { state in
            state.connection = connection
            state.connectedAt = .now
            return state.expiry != nil
        }
        if expired { connection.closeNow() }
    }

    var connectedAt: ContinuousClock.Instant? { state.withLock { $0.connectedAt } }

    /// Records the deadline's error and closes the connection, if any.
    func expire(_ error: PostgresStore.Error) {
        let connection = state.withLock { state in
            state.expiry = error
            return state.connection
        }
        connection?.closeNow()
    }

    /// The error to report for `error`: the deadline's when the expiry caused it.
    func explain(_ error: any Swift.Error) -> any Swift.Error {
        guard let expiry = state.withLock({ $0.expiry }) else { return error }
        if error is CancellationError { return expiry }
        if let error = error as? PostgresStore.Error, error.code == .unavailable || error.code == .shutDown { return expiry }
        return error
    }
}

extension PostgresConnection {
    /// Closes the channel without waiting: queries in flight fail at once.
    fileprivate func closeNow() {
        let _: EventLoopFuture<Void> = close()
    }
}

/// A `timestamptz` rounded to whole milliseconds, as `Timestamp` does for SQLite.
struct PostgresTimestamp: PostgresNonThrowingEncodable, PostgresDecodable, Sendable {
    var date: Date

    init(_ date: Date) { self.date = date }

    /// Microseconds from 1970 to 2000-01-01, PostgreSQL's epoch.
    private static let epochOffset: Int64 = 946_684_800_000_000

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        byteBuffer.writeInteger(milliseconds * 1000 - Self.epochOffset)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp else { throw PostgresDecodingError.Code.typeMismatch }
        guard format == .binary, buffer.readableBytes == 8, let microseconds = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.failure
        }
        let sinceUnixEpoch = microseconds + Self.epochOffset
        // Whole milliseconds are exact as a Double; the rest is added after.
        let (milliseconds, rest) = sinceUnixEpoch.quotientAndRemainder(dividingBy: 1000)
        date = Date(timeIntervalSince1970: Double(milliseconds) / 1000 + Double(rest) / 1_000_000)
    }
}

extension EnrollmentRecord {
    fileprivate init(row: PostgresRow, store: PostgresStore) throws {
        let (profile, transactionID, messageType, status, serial, outcome, reason, csrSHA256, createdAt) = try store.decode(
            row, (String, String, String, String, String?, String, String, String, PostgresTimestamp).self, "enrollments")
        guard let status = Status(rawValue: status) else {
            throw PostgresStore.Error(code: .unexpectedData, "enrollments: status \"\(status)\" is neither issued nor rejected")
        }
        self.init(
            profile: profile, transactionID: transactionID, messageType: messageType, status: status, serialNumber: serial,
            outcome: try Outcome(stored: outcome, table: "enrollments"), reason: reason, csrSHA256: csrSHA256,
            createdAt: createdAt.date)
    }
}

extension CertificateRecord {
    fileprivate init(row: PostgresRow, store: PostgresStore) throws {
        let (serial, issuer, profile, subject, sans, notBefore, notAfter, status, transactionID, deviceID, der, createdAt) =
            try store.decode(
                row,
                (String, String, String, String, String, PostgresTimestamp, PostgresTimestamp, String, String, String?, ByteBuffer,
                    PostgresTimestamp).self, "certificates")
        self.init(
            serialNumber: serial, issuer: issuer, profile: profile, subject: subject, subjectAlternativeNames: sans,
            notBefore: notBefore.date, notAfter: notAfter.date, status: status, transactionID: transactionID, deviceID: deviceID,
            der: Array(der.readableBytesView), createdAt: createdAt.date)
    }
}

extension AuditEvent {
    fileprivate init(row: PostgresRow, store: PostgresStore) throws {
        let (
            id, time, edge, sourceIP, profile, operation, messageType, transactionID, outcome, failInfo, claimSubject, claimIssuer,
            deviceName, csrSubject, csrSANs, serial, latency, details
        ) = try store.decode(
            row,
            (String, PostgresTimestamp, String, String?, String, String, String?, String?, String, String?, String?, String?, String?,
                String?, String?, String?, Double, String).self, "audit_events")
        self.init(
            id: id, time: time.date, edgeID: edge, sourceAddress: sourceIP, profile: profile, operation: operation,
            messageType: messageType, transactionID: transactionID, outcome: try Outcome(stored: outcome, table: "audit_events"),
            failInfo: failInfo, claimSubject: claimSubject, claimIssuer: claimIssuer, deviceName: deviceName, csrSubject: csrSubject,
            csrSANs: csrSANs, serialNumber: serial, latencyMilliseconds: latency, details: details)
    }
}

extension Outcome {
    fileprivate init(stored: String, table: String) throws {
        guard let outcome = Outcome(rawValue: stored) else {
            throw PostgresStore.Error(code: .unexpectedData, "\(table): outcome \"\(stored)\" is not an outcome label")
        }
        self = outcome
    }
}
