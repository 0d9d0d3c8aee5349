import Foundation

/// The storage schema (SPEC §7), as versioned forward-only migrations,
/// written once for both engines.
///
/// Column names are the contract operators query. Column types are written
/// as placeholders the dialect fills in: `{instant}` is ISO 8601 `TEXT` in
/// SQLite and `timestamptz(3)` (milliseconds, as SQLite's text) in
/// PostgreSQL, `{bytes}` `BLOB`/`bytea`, `{real}` `REAL`/`double precision`,
/// `{boolean}` `INTEGER`/`boolean` with `{false}` `0`/`false`.
enum Schema {
    struct Migration {
        var version: Int
        var statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE certificates (
                serial text PRIMARY KEY,
                issuer text NOT NULL,
                profile text NOT NULL,
                subject text NOT NULL,
                sans text NOT NULL,
                not_before {instant} NOT NULL,
                not_after {instant} NOT NULL,
                status text NOT NULL,
                transaction_id text NOT NULL,
                device_id text,
                der {bytes} NOT NULL,
                created_at {instant} NOT NULL
            )
            """,
            "CREATE INDEX certificates_profile ON certificates (profile, created_at)",
            "CREATE INDEX certificates_device ON certificates (device_id)",
            """
            CREATE TABLE enrollments (
                profile text NOT NULL,
                transaction_id text NOT NULL,
                message_type text NOT NULL,
                status text NOT NULL,
                serial text REFERENCES certificates (serial),
                outcome text NOT NULL,
                reason text NOT NULL,
                csr_sha256 text NOT NULL,
                created_at {instant} NOT NULL,
                PRIMARY KEY (profile, transaction_id)
            )
            """,
            """
            CREATE TABLE audit_events (
                id text PRIMARY KEY,
                "time" {instant} NOT NULL,
                edge text NOT NULL,
                source_ip text,
                profile text NOT NULL,
                operation text NOT NULL,
                message_type text,
                transaction_id text,
                outcome text NOT NULL,
                fail_info text,
                claim_sub text,
                claim_iss text,
                device_name text,
                csr_subject text,
                csr_sans text,
                serial text,
                latency_ms {real} NOT NULL,
                details text NOT NULL
            )
            """,
            #"CREATE INDEX audit_events_time ON audit_events ("time")"#,
            #"CREATE INDEX audit_events_profile_outcome ON audit_events (profile, outcome, "time")"#,
            """
            CREATE TABLE revocations (
                serial text PRIMARY KEY REFERENCES certificates (serial),
                issuer text NOT NULL,
                revoked_at {instant} NOT NULL,
                reason text NOT NULL,
                actor text NOT NULL
            )
            """,
        ]),
        // The control plane's own record of an issuance, written with the
        // certificate, until the edge's event with the same id replaces it.
        Migration(version: 2, statements: [
            "ALTER TABLE audit_events ADD COLUMN provisional {boolean} NOT NULL DEFAULT {false}"
        ]),
        // When the key is known or suspected to have been compromised, if
        // earlier than the revocation (RFC 5280 §5.3.2), as an admin states it.
        Migration(version: 3, statements: [
            "ALTER TABLE revocations ADD COLUMN invalidity_date {instant}",
            "CREATE INDEX certificates_not_after ON certificates (not_after)",
        ]),
        // One record per request, not per transaction: a client that keeps
        // its key pair sends each new CSR under the same transactionID, so the
        // CSR's digest is part of the key (rebuilt: SQLite cannot alter a key).
        Migration(version: 4, statements: [
            """
            CREATE TABLE enrollments_by_request (
                profile text NOT NULL,
                transaction_id text NOT NULL,
                message_type text NOT NULL,
                status text NOT NULL,
                serial text REFERENCES certificates (serial),
                outcome text NOT NULL,
                reason text NOT NULL,
                csr_sha256 text NOT NULL,
                created_at {instant} NOT NULL,
                CONSTRAINT \(enrollmentKey) PRIMARY KEY (profile, transaction_id, csr_sha256)
            )
            """,
            """
            INSERT INTO enrollments_by_request
            SELECT profile, transaction_id, message_type, status, serial, outcome, reason, csr_sha256, created_at FROM enrollments
            """,
            "DROP TABLE enrollments",
            "ALTER TABLE enrollments_by_request RENAME TO enrollments",
        ]),
        // A large inventory (10⁶ certificates, 10⁷ audit events): an index
        // for every search the admin API and the console run, so a first
        // page reads a page of rows, not the table (plans in
        // Benchmarks/README.md), and the daily rollup `outcomeCounts` sums
        // instead of counting every audit event on each stats request.
        Migration(version: 5, statements: [
            // The inventory newest first (the console's default), and by state and expiry.
            "CREATE INDEX certificates_created ON certificates (created_at DESC, serial)",
            "CREATE INDEX certificates_status_not_after ON certificates (status, not_after)",
            // A certificate's audit events (its detail page) and the audit filters.
            "CREATE INDEX audit_events_transaction ON audit_events (transaction_id)",
            "CREATE INDEX audit_events_serial ON audit_events (serial)",
            "CREATE INDEX audit_events_claim_sub ON audit_events (claim_sub)",
            "CREATE INDEX audit_events_device_name ON audit_events (device_name)",
            // The stats' counts over the last day or two (per outcome, per hour) read this index alone.
            "DROP INDEX audit_events_time",
            #"CREATE INDEX audit_events_time ON audit_events ("time", operation, profile, outcome)"#,
            // Serves an outcome alone as well as a profile with an outcome.
            "DROP INDEX audit_events_profile_outcome",
            #"CREATE INDEX audit_events_outcome ON audit_events (outcome, profile, "time")"#,
            // The CRL's revocation stamp (count and latest) from the index alone.
            "CREATE INDEX revocations_issuer ON revocations (issuer, revoked_at)",
            """
            CREATE TABLE audit_daily_outcomes (
                day text NOT NULL,
                profile text NOT NULL,
                outcome text NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (day, profile, outcome)
            )
            """,
        ]),
        // The console's "expired" list (active and past `not_after`, newest
        // first) without reading the heap row of every current certificate
        // it passes: `not_after` is checked inside this index. It serves the
        // other states newest first as well.
        Migration(version: 6, statements: [
            "CREATE INDEX certificates_status_created ON certificates (status, created_at DESC, serial, not_after)"
        ]),
    ]

    /// An index that is not a migration: on a large inventory building it
    /// blocks writes for as long as it takes (and the migrations have a time
    /// limit), so on PostgreSQL `OnlineIndexBuilder` builds the missing ones
    /// after the control plane starts, with `CREATE INDEX CONCURRENTLY`
    /// (enrollments go on writing), and the reads they serve work, slower,
    /// without them. SQLite (`scepter dev`: one process, a small inventory)
    /// creates those it can at each start. Nor do they change the schema
    /// version, so a release before them runs on the same database.
    struct OnlineIndex {
        var name: String
        /// What follows `ON`.
        var definition: String
        /// Needs PostgreSQL's `pg_trgm`, which a database user may not be allowed to create; SQLite has no equivalent.
        var trigram: Bool = false
    }

    static let onlineIndexes = [
        // What each issuer name still answers for (`GET /api/v1/issuers`, the
        // issuer checks): the names by a hop per name, and each name's
        // unexpired certificates as one range, from this index alone.
        OnlineIndex(name: "certificates_issuer", definition: "certificates (issuer, not_after, status)"),
        // The certificate searches by text (`q`, `device`: `lower(…) LIKE '%…%'`, which no B-tree serves).
        OnlineIndex(name: "certificates_subject_trgm", definition: "certificates USING gin (lower(subject) gin_trgm_ops)", trigram: true),
        OnlineIndex(name: "certificates_sans_trgm", definition: "certificates USING gin (lower(sans) gin_trgm_ops)", trigram: true),
    ]

    /// The name of the enrollments table's key: a second insert of one
    /// request violates it (the engines report it by this name).
    static let enrollmentKey = "enrollments_request_key"

    /// The newest schema version this Scepter knows.
    static var latestVersion: Int { migrations.map(\.version).max() ?? 0 }

    /// A migration statement in `dialect`'s types.
    static func render(_ statement: String, for dialect: SQLDialect) -> String {
        let types: [(String, String)] =
            switch dialect {
            case .sqlite: [("{instant}", "TEXT"), ("{bytes}", "BLOB"), ("{real}", "REAL"), ("{boolean}", "INTEGER"), ("{false}", "0")]
            case .postgres:
                [("{instant}", "timestamptz(3)"), ("{bytes}", "bytea"), ("{real}", "double precision"), ("{boolean}", "boolean"), ("{false}", "false")]
            }
        return types.reduce(statement) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    /// The columns an audit insert writes, in `VALUES` order.
    static let auditColumns = [
        "id", "time", "edge", "source_ip", "profile", "operation", "message_type", "transaction_id", "outcome", "fail_info",
        "claim_sub", "claim_iss", "device_name", "csr_subject", "csr_sans", "serial", "latency_ms", "details", "provisional",
    ]

    /// The columns the audit table's secondary indexes hold (migrations 1
    /// and 5; `SchemaTests` compares this with the database's own list).
    static let auditIndexedColumns: Set<String> = [
        "time", "operation", "profile", "outcome", "transaction_id", "serial", "claim_sub", "device_name",
    ]

    /// SQLite's replacement of a provisional audit row by the edge's event
    /// when the two agree on every indexed column, as they do when the edge
    /// sent the event's time (`EnrollmentRequest.auditEventTime`): it sets
    /// only the other columns, so no index is rewritten. (SQLite rewrites the
    /// entries of every index that has a column the SET names, equal or not;
    /// PostgreSQL compares the values and keeps such an update on its page
    /// without touching an index, so it needs no such statement.) Binds: the
    /// set columns in `auditColumns` order, the id, then the indexed columns
    /// in `auditColumns` order, the serial twice (an event without one keeps
    /// the provisional row's, as `auditConflictClause` does). Returns the id
    /// when it replaced the row.
    static let auditInPlaceReplacementSQL: String = {
        let assigned = auditColumns.dropFirst().filter { !auditIndexedColumns.contains($0) }
        let matched = auditColumns.filter(auditIndexedColumns.contains).map { column in
            column == "serial" ? #"("serial" IS ? OR ? IS NULL)"# : #""\#(column)" IS ?"#
        }
        return """
            UPDATE audit_events SET \(assigned.map { #""\#($0)" = ?"# }.joined(separator: ", "))
            WHERE id = ? AND provisional AND \(matched.joined(separator: " AND ")) RETURNING id
            """
    }()

    /// The columns a certificate row is read from.
    static let certificateColumns = [
        "serial", "issuer", "profile", "subject", "sans", "not_before", "not_after", "status", "transaction_id", "device_id", "der",
        "created_at",
    ]

    /// How an audit insert meets a row with the same id: the first delivery
    /// of an edge's event wins, and it replaces a provisional row, keeping
    /// the provisional serial when the edge has none (the certificate was
    /// committed but the edge answered 503: the row then says which
    /// certificate that request's retry will receive).
    static let auditConflictClause: String = {
        let assignments = auditColumns.dropFirst().map { column in
            column == "serial"
                ? #""serial" = COALESCE(excluded."serial", audit_events."serial")"#
                : #""\#(column)" = excluded."\#(column)""#
        }.joined(separator: ", ")
        return "ON CONFLICT (id) DO UPDATE SET \(assignments) WHERE audit_events.provisional AND NOT excluded.provisional"
    }()

    static func columnList(_ columns: [String]) -> String { columns.map { #""\#($0)""# }.joined(separator: ", ") }
}
