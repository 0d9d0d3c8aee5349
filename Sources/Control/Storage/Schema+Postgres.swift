extension Schema {
    /// PostgreSQL's version of `Schema.sqlite`: the same tables, columns and
    /// indexes; instants are `timestamptz(3)` (milliseconds, as SQLite's
    /// text), `der` is `bytea`, `latency_ms` is `double precision`.
    static let postgres: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE certificates (
                serial text PRIMARY KEY,
                issuer text NOT NULL,
                profile text NOT NULL,
                subject text NOT NULL,
                sans text NOT NULL,
                not_before timestamptz(3) NOT NULL,
                not_after timestamptz(3) NOT NULL,
                status text NOT NULL,
                transaction_id text NOT NULL,
                device_id text,
                der bytea NOT NULL,
                created_at timestamptz(3) NOT NULL
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
                created_at timestamptz(3) NOT NULL,
                PRIMARY KEY (profile, transaction_id)
            )
            """,
            """
            CREATE TABLE audit_events (
                id text PRIMARY KEY,
                "time" timestamptz(3) NOT NULL,
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
                latency_ms double precision NOT NULL,
                details text NOT NULL
            )
            """,
            #"CREATE INDEX audit_events_time ON audit_events ("time")"#,
            #"CREATE INDEX audit_events_profile_outcome ON audit_events (profile, outcome, "time")"#,
            """
            CREATE TABLE revocations (
                serial text PRIMARY KEY REFERENCES certificates (serial),
                issuer text NOT NULL,
                revoked_at timestamptz(3) NOT NULL,
                reason text NOT NULL,
                actor text NOT NULL
            )
            """,
        ]),
        Migration(version: 2, statements: [
            "ALTER TABLE audit_events ADD COLUMN provisional boolean NOT NULL DEFAULT false"
        ]),
    ]
}
