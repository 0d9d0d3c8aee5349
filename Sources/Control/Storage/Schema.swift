/// The storage schema (SPEC §7), as versioned forward-only migrations.
///
/// Column names are the contract operators query; SQLite and PostgreSQL
/// share them (types differ only where the engines do).
enum Schema {
    struct Migration {
        var version: Int
        var statements: [String]
    }

    static let sqlite: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE certificates (
                serial TEXT PRIMARY KEY,
                issuer TEXT NOT NULL,
                profile TEXT NOT NULL,
                subject TEXT NOT NULL,
                sans TEXT NOT NULL,
                not_before TEXT NOT NULL,
                not_after TEXT NOT NULL,
                status TEXT NOT NULL,
                transaction_id TEXT NOT NULL,
                device_id TEXT,
                der BLOB NOT NULL,
                created_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX certificates_profile ON certificates (profile, created_at)",
            "CREATE INDEX certificates_device ON certificates (device_id)",
            """
            CREATE TABLE enrollments (
                profile TEXT NOT NULL,
                transaction_id TEXT NOT NULL,
                message_type TEXT NOT NULL,
                status TEXT NOT NULL,
                serial TEXT REFERENCES certificates (serial),
                outcome TEXT NOT NULL,
                reason TEXT NOT NULL,
                csr_sha256 TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (profile, transaction_id)
            )
            """,
            """
            CREATE TABLE audit_events (
                id TEXT PRIMARY KEY,
                time TEXT NOT NULL,
                edge TEXT NOT NULL,
                source_ip TEXT,
                profile TEXT NOT NULL,
                operation TEXT NOT NULL,
                message_type TEXT,
                transaction_id TEXT,
                outcome TEXT NOT NULL,
                fail_info TEXT,
                claim_sub TEXT,
                claim_iss TEXT,
                device_name TEXT,
                csr_subject TEXT,
                csr_sans TEXT,
                serial TEXT,
                latency_ms REAL NOT NULL,
                details TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_events_time ON audit_events (time)",
            "CREATE INDEX audit_events_profile_outcome ON audit_events (profile, outcome, time)",
            """
            CREATE TABLE revocations (
                serial TEXT PRIMARY KEY REFERENCES certificates (serial),
                issuer TEXT NOT NULL,
                revoked_at TEXT NOT NULL,
                reason TEXT NOT NULL,
                actor TEXT NOT NULL
            )
            """,
        ]),
        // The control plane's own record of an issuance, written with the
        // certificate, until the edge's event with the same id replaces it.
        Migration(version: 2, statements: [
            "ALTER TABLE audit_events ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0"
        ]),
    ]

    /// The columns an audit insert writes, in `VALUES` order.
    static let auditColumns = [
        "id", "time", "edge", "source_ip", "profile", "operation", "message_type", "transaction_id", "outcome", "fail_info",
        "claim_sub", "claim_iss", "device_name", "csr_subject", "csr_sans", "serial", "latency_ms", "details", "provisional",
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

    static var auditColumnList: String { auditColumns.map { #""\#($0)""# }.joined(separator: ", ") }
}
