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
        ])
    ]
}
