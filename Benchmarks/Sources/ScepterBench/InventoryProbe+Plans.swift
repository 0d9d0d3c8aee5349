import Foundation

/// The statements the control plane runs for the requests `InventoryProbe`
/// times, as `SQLStore` writes them (Sources/Control/Storage/SQLStore*.swift),
/// with this run's values in place of the placeholders.
extension InventoryProbe {
    var statements: [(request: String, sql: String)] {
        let current = "'\(iso(now))'::timestamptz"
        func ago(_ days: Double) -> String { "'\(iso(now.addingTimeInterval(-days * 86_400)))'::timestamptz" }
        func ahead(_ days: Double) -> String { "'\(iso(now.addingTimeInterval(days * 86_400)))'::timestamptz" }
        // A page of certificates as `SQLStore.certificates` reads it: the page's serials, then their rows.
        func certificates(_ filter: String, order: String = "created_at DESC, serial ASC") -> String {
            "SELECT * FROM certificates WHERE serial IN (SELECT serial FROM certificates \(filter) ORDER BY \(order) LIMIT 51) ORDER BY \(order)"
        }
        let audit = "SELECT * FROM audit_events"
        let auditOrder = #"ORDER BY "time" DESC, id LIMIT 101"#
        let hour = "date_trunc('hour', \(current))"
        let rollupCutoff = "date_trunc('day', \(current) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 day'"
        return [
            (
                "stats: all-time totals, the days before yesterday (outcomeCounts, since nil: AuditRollup.totals)",
                "SELECT profile, outcome, CAST(sum(n) AS bigint) AS n FROM audit_daily_outcomes GROUP BY profile, outcome"
            ),
            (
                "stats: all-time totals, yesterday and today (outcomeCounts, since nil: live part)",
                #"SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = 'PKIOperation' AND "time" >= \#(rollupCutoff) GROUP BY profile, outcome"#
            ),
            (
                "stats: all-time totals before migration 5 (every event counted; for comparison)",
                "SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = 'PKIOperation' GROUP BY profile, outcome"
            ),
            (
                "stats: last 24 h per profile and outcome (outcomeCounts, since)",
                #"SELECT profile, outcome, count(*) AS n FROM audit_events WHERE operation = 'PKIOperation' AND "time" >= \#(ago(1)) GROUP BY profile, outcome"#
            ),
            (
                "stats: a profile's recent failures",
                #"\#(audit) WHERE profile = 'intune-wifi' AND outcome NOT IN ('success', 'pending') ORDER BY "time" DESC, id LIMIT 50"#
            ),
            (
                "stats: a profile's hourly outcomes (hourlyOutcomes)",
                #"""
                SELECT to_char("time" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS hour, sum(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS successes,
                    sum(CASE WHEN outcome IN ('success', 'pending') THEN 0 ELSE 1 END) AS failures
                FROM audit_events WHERE operation = 'PKIOperation' AND profile = 'intune-wifi' AND "time" >= \#(hour) - interval '23 hours' GROUP BY hour ORDER BY hour
                """#
            ),
            (
                "overview: totals (inventorySummary)",
                """
                SELECT (SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= \(current)) AS active,
                    (SELECT count(*) FROM certificates WHERE status = 'active' AND not_after >= \(current) AND not_after < \(ahead(30))) AS expiring,
                    (SELECT count(*) FROM certificates WHERE status = 'revoked') AS revoked,
                    (SELECT count(*) FROM certificates WHERE status = 'superseded') AS superseded
                """
            ),
            (
                "overview: issued per day, 30 days",
                "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n FROM certificates WHERE created_at >= \(ago(30)) GROUP BY day"
            ),
            (
                "overview: expiring per day, 90 days",
                """
                SELECT to_char(not_after AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n FROM certificates
                WHERE status = 'active' AND not_after >= \(current) AND not_after < \(ahead(90)) GROUP BY day
                """
            ),
            ("certificates: first page, no filter", certificates("")),
            (
                "certificates: profile + state=active",
                certificates("WHERE profile = 'intune-wifi' AND status = 'active' AND not_after >= \(current)")
            ),
            ("certificates: state=revoked", certificates("WHERE status = 'revoked'")),
            ("certificates: state=expired", certificates("WHERE status = 'active' AND not_after < \(current)")),
            (
                "certificates: active, expiring in 30 d, sort notAfter",
                certificates("WHERE status = 'active' AND not_after >= \(current) AND not_after < \(ahead(30))", order: "not_after ASC, serial ASC")
            ),
            (
                "certificates: device",
                certificates(#"WHERE (device_id = '\#(sample.deviceID)' OR lower(subject) LIKE '%\#(sample.deviceID.lowercased())%' ESCAPE '\')"#)
            ),
            (
                "certificates: q",
                certificates(#"WHERE (lower(subject) LIKE '%\#(sample.deviceName.lowercased().suffix(7))%' ESCAPE '\' OR lower(sans) LIKE '%\#(sample.deviceName.lowercased().suffix(7))%' ESCAPE '\')"#)
            ),
            ("certificate detail: audit by transaction", #"\#(audit) WHERE transaction_id = '\#(sample.transactionID)' ORDER BY "time" DESC, id LIMIT 100"#),
            ("certificate detail: audit by serial", #"\#(audit) WHERE serial = '\#(sample.serial)' ORDER BY "time" DESC, id LIMIT 100"#),
            ("audit: first page, no filter", "\(audit) \(auditOrder)"),
            ("audit: profile", "\(audit) WHERE profile = 'intune-vpn' \(auditOrder)"),
            ("audit: outcome=challenge_invalid", "\(audit) WHERE outcome = 'challenge_invalid' \(auditOrder)"),
            ("audit: profile + outcome=signature_invalid", "\(audit) WHERE profile = 'default' AND outcome = 'signature_invalid' \(auditOrder)"),
            ("audit: device", "\(audit) WHERE (device_name = '\(sample.deviceName)' OR claim_sub = '\(sample.deviceName)') \(auditOrder)"),
            ("audit: transactionID", "\(audit) WHERE transaction_id = '\(sample.auditTransactionID)' \(auditOrder)"),
            ("audit: last 24 h (and the export's first page)", #"\#(audit) WHERE "time" >= \#(ago(1)) ORDER BY "time" DESC, id LIMIT 1000"#),
            ("CRL: revocation stamp (every CRL request)", "SELECT count(*) AS n, max(revoked_at) AS latest FROM revocations WHERE issuer = 'bench'"),
            ("CRL: the issuer's revocations", "SELECT serial, revoked_at, reason, actor, invalidity_date FROM revocations WHERE issuer = 'bench' ORDER BY serial"),
        ]
    }

    /// EXPLAIN (ANALYZE, BUFFERS) of every statement, each under its request's name.
    func explainAll() throws -> String {
        var text = ""
        for statement in statements {
            let plan = try Self.query(databaseURL, "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql)
            text += "-- \(statement.request)\n\(statement.sql)\n\(plan)\n"
        }
        return text
    }

    func iso(_ date: Date) -> String { date.formatted(.iso8601) }
}
