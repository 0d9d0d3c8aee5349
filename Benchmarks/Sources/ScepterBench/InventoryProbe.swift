import Foundation

/// Times the admin API's reads on a seeded inventory, through the running
/// control plane over HTTP, and explains the statements behind them.
struct InventoryProbe {
    struct Timing {
        var name: String
        var first: Double
        var median: Double
        var p95: Double
        var note: String

        static let header = "  " + padded("request", 56) + "  first ms    median       p95  answer"
        var line: String { "  " + padded(name, 56) + String(format: " %9.1f %9.1f %9.1f  ", first, median, p95) + note }
    }

    /// Values of the seeded rows the filters use, read from the database.
    struct Sample {
        var serial: String
        var revokedSerial: String
        var transactionID: String
        var deviceID: String
        var deviceName: String
        var auditTransactionID: String
    }

    let databaseURL: String
    let control: ControlPlaneProcess
    let repeatCount: Int
    let crlRepeat: Int
    let sample: Sample
    let now = Date()

    init(databaseURL: String, control: ControlPlaneProcess, repeatCount: Int, crlRepeat: Int) throws {
        self.databaseURL = databaseURL
        self.control = control
        self.repeatCount = repeatCount
        self.crlRepeat = crlRepeat
        func one(_ sql: String) throws -> String {
            guard let value = try Self.query(databaseURL, sql).split(separator: "\n").first.map(String.init), !value.isEmpty else {
                throw BenchError("the seeded database has no row for: \(sql)")
            }
            return value
        }
        let certificate = try one(
            "SELECT serial || '|' || transaction_id || '|' || device_id FROM certificates WHERE profile = 'intune-wifi' AND status = 'active' ORDER BY created_at DESC OFFSET 1000 LIMIT 1"
        ).split(separator: "|").map(String.init)
        let audit = try one(
            "SELECT transaction_id || '|' || device_name FROM audit_events WHERE profile = 'intune-wifi' AND operation = 'PKIOperation' AND outcome = 'success' AND \"time\" < now() - interval '100 days' LIMIT 1"
        ).split(separator: "|").map(String.init)
        sample = Sample(
            serial: certificate[0], revokedSerial: try one("SELECT serial FROM revocations WHERE issuer = 'bench' LIMIT 1"), transactionID: certificate[1],
            deviceID: certificate[2], deviceName: audit[1], auditTransactionID: audit[0])
    }

    static func query(_ databaseURL: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [databaseURL, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("psql -c \(sql.prefix(80)) failed: \(String(decoding: message, as: UTF8.self))") }
        return String(decoding: data, as: UTF8.self)
    }

    func counts() throws -> String {
        let row = try Self.query(
            databaseURL,
            "SELECT (SELECT count(*) FROM certificates) || ' certificates, ' || (SELECT count(*) FROM revocations WHERE issuer = 'bench') || ' revoked on issuer bench, ' || (SELECT count(*) FROM audit_events) || ' audit events'"
        )
        return row.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Requests

    /// The requests the console makes, by name: path and token.
    private var requests: [(name: String, path: String, admin: Bool)] {
        let day = 86_400.0
        return [
            ("stats (Intune monitoring page)", "/api/v1/admin/scep/intune/stats", true),
            ("overview (console home)", "/api/v1/overview", false),
            ("certificates: first page, no filter", "/api/v1/certificates?limit=50", false),
            ("certificates: profile + state=active", "/api/v1/certificates?limit=50&profile=intune-wifi&state=active", false),
            ("certificates: state=revoked", "/api/v1/certificates?limit=50&state=revoked", false),
            ("certificates: state=expired", "/api/v1/certificates?limit=50&state=expired", false),
            (
                "certificates: active, expiring in 30 d, sort notAfter",
                "/api/v1/certificates?limit=50&state=active&sort=notAfter&expiringBefore=\(iso(now.addingTimeInterval(30 * day)))", false
            ),
            ("certificates: device (Intune device id)", "/api/v1/certificates?limit=50&device=\(sample.deviceID)", false),
            ("certificates: q (subject/SAN substring)", "/api/v1/certificates?limit=50&q=\(sample.deviceName.lowercased().suffix(7))", false),
            ("certificates: serial", "/api/v1/certificates?limit=50&serial=\(sample.serial)", false),
            ("certificate detail (with its audit events)", "/api/v1/certificates/\(sample.serial)", false),
            ("audit: first page, no filter", "/api/v1/audit?limit=100", false),
            ("audit: profile", "/api/v1/audit?limit=100&profile=intune-vpn", false),
            ("audit: outcome=challenge_invalid", "/api/v1/audit?limit=100&outcome=challenge_invalid", false),
            ("audit: profile + outcome=signature_invalid", "/api/v1/audit?limit=100&profile=default&outcome=signature_invalid", false),
            ("audit: device", "/api/v1/audit?limit=100&device=\(sample.deviceName)", false),
            ("audit: transactionID", "/api/v1/audit?limit=100&transactionID=\(sample.auditTransactionID)", false),
            ("audit: last 24 h", "/api/v1/audit?limit=100&since=\(iso(now.addingTimeInterval(-day)))", false),
        ]
    }

    func timeQueries() throws -> [Timing] {
        let connection = HTTPConnection(port: control.port)
        var timings: [Timing] = []
        for request in requests {
            let headers = ["Authorization: Bearer " + (request.admin ? control.adminToken : control.viewerToken)]
            var samples: [Double] = []
            var answer = ""
            var count = repeatCount + 1
            while samples.count < count {
                let start = Clock.monotonicNanoseconds()
                let response = try connection.get(request.path, headers: headers)
                samples.append(Double(Clock.monotonicNanoseconds() - start) / 1e6)
                guard response.status == 200 else {
                    // A refusal (the statement timeout) is a figure too; the run goes on.
                    answer = "HTTP \(response.status): \(String(decoding: response.body.prefix(160), as: UTF8.self))"
                    count = min(count, 3)
                    continue
                }
                answer = Self.describe(response.body)
                // Seconds per request: a few are enough.
                if samples.count == 2 && samples[1] > 1000 { count = min(count, 4) }
            }
            timings.append(Self.timing(request.name, samples, note: answer))
            note(timings.last!.line)
        }
        timings.append(try timeExport(connection))
        timings.append(contentsOf: try timeCRL(connection))
        return timings
    }

    /// The CSV export of one day of events (the console's Export button with a day's filter).
    private func timeExport(_ connection: HTTPConnection) throws -> Timing {
        let path = "/api/v1/audit?since=\(iso(now.addingTimeInterval(-86_400)))"
        var samples: [Double] = []
        var bytes = 0
        var lines = 0
        for _ in 0..<max(2, repeatCount / 4) {
            let start = Clock.monotonicNanoseconds()
            let response = try connection.get(path, headers: ["Authorization: Bearer " + control.viewerToken, "Accept: text/csv"])
            samples.append(Double(Clock.monotonicNanoseconds() - start) / 1e6)
            guard response.status == 200 else { throw BenchError("audit export answered HTTP \(response.status)") }
            bytes = response.body.count
            lines = response.body.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } - 1
        }
        return Self.timing("audit export: CSV of the last 24 h", samples, note: "\(lines) events, \(bytes / 1024) KiB")
    }

    /// A revocation, then the CRL: its cached copy is stale, so it is read from the database and signed again.
    private func timeCRL(_ connection: HTTPConnection) throws -> [Timing] {
        let serials = try Self.query(
            databaseURL, "SELECT serial FROM certificates WHERE issuer = 'bench' AND status = 'active' ORDER BY created_at DESC LIMIT \(crlRepeat + 1)"
        ).split(separator: "\n").map(String.init)
        var revoke: [Double] = []
        var crl: [Double] = []
        var size = 0
        var cached: [Double] = []
        for serial in serials {
            var start = Clock.monotonicNanoseconds()
            let revoked = try connection.post(
                "/api/v1/certificates/\(serial)/revoke", contentType: "application/json", body: Array(#"{"reason":"cessationOfOperation"}"#.utf8),
                headers: ["Authorization: Bearer " + control.adminToken])
            revoke.append(Double(Clock.monotonicNanoseconds() - start) / 1e6)
            guard revoked.status == 200 else { throw BenchError("revoke answered HTTP \(revoked.status)") }
            start = Clock.monotonicNanoseconds()
            let response = try connection.get("/crl/bench.crl")
            crl.append(Double(Clock.monotonicNanoseconds() - start) / 1e6)
            guard response.status == 200 else { throw BenchError("/crl/bench.crl answered HTTP \(response.status)") }
            size = response.body.count
            start = Clock.monotonicNanoseconds()
            _ = try connection.get("/crl/bench.crl")
            cached.append(Double(Clock.monotonicNanoseconds() - start) / 1e6)
        }
        // Every revocation of the issuer is listed, expired certificates' included.
        let entries = try Self.query(databaseURL, "SELECT count(*) FROM revocations WHERE issuer = 'bench'").trimmingCharacters(in: .whitespacesAndNewlines)
        return [
            Self.timing("revoke one certificate", revoke, note: ""),
            Self.timing("CRL of issuer bench, generated (after a revocation)", crl, note: "\(size / 1024) KiB, \(entries) entries"),
            Self.timing("CRL of issuer bench, cached", cached, note: ""),
        ]
    }

    private static func timing(_ name: String, _ samples: [Double], note: String) -> Timing {
        let measured = Array(samples.dropFirst()).sorted()
        return Timing(name: name, first: samples.first ?? 0, median: percentile(measured, 0.5), p95: percentile(measured, 0.95), note: note)
    }

    /// How many items a JSON page holds, or the body's size.
    private static func describe(_ body: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return "\(body.count) bytes" }
        if let items = object["items"] as? [Any] { return "\(items.count) items" + (object["nextCursor"] is String ? ", more" : "") }
        if let profiles = object["profiles"] as? [Any] { return "\(profiles.count) profiles" }
        return "\(body.count) bytes"
    }
}
