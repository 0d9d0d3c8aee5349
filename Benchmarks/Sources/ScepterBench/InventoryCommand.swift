import ArgumentParser
import Foundation

/// `scepter-bench inventory`: the admin API on a large inventory. Seeds a
/// fresh database (or reuses a seeded one), starts the real control plane on
/// it, times the queries the console runs over HTTP (median and p95 of
/// --repeat requests each), and writes PostgreSQL's plans of the statements
/// behind them.
struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Time the admin API (stats, searches, audit export, CRL) on a seeded inventory, with the query plans.",
        discussion: """
            Without --reuse, creates a database on --database's server, lets the control plane migrate it and seeds it \
            (see `scepter-bench seed`). The control plane runs pinned to --cpu; PostgreSQL is not pinned.
            """)

    @Option(help: "A PostgreSQL URL whose user may CREATE DATABASE (the scripts/services one).")
    var database: String

    @Option(help: "Measure this already seeded database on --database's server instead of seeding a fresh one.")
    var reuse: String?

    @Flag(help: "Keep the database seeded for this run (its name is printed) for a later --reuse.")
    var keepDatabase = false

    @OptionGroup var sizes: SeedSizes

    @Option(name: .customLong("repeat"), help: "Requests per query; median and p95 are reported.")
    var repeatCount = 20

    @Option(help: "CRL generations timed (each after one revocation, so the cached CRL is stale).")
    var crlRepeat = 5

    @Option(help: "Write EXPLAIN (ANALYZE, BUFFERS) of each statement to this file.")
    var plans: String?

    @Option(help: "Path of the release scepter binary (default: .build-release/release/scepter of the repository).")
    var binary: String?

    @Option(help: "CPU the control plane is pinned to.")
    var cpu = 0

    func run() throws {
        let binary = try ScepterBinary.resolve(binary)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scepter-inventory-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard let slash = database.lastIndex(of: "/") else { throw BenchError("--database \(database) names no database") }
        let name = reuse ?? "inventory_\(UUID().uuidString.prefix(8).lowercased())"
        let url = database[..<slash] + "/" + name
        let server = InventorySeeder(databaseURL: database)
        if reuse == nil { try server.psql(["-c", "CREATE DATABASE \(name)"]) }
        defer {
            if reuse == nil && !keepDatabase {
                try? server.psql(["-c", "DROP DATABASE \(name)"])
            } else {
                note("database kept: \(url)")
            }
        }

        var seeding: InventorySeeder.Report?
        if reuse == nil {
            note("migrating \(url)")
            try ControlPlaneProcess.migrate(binary: binary, directory: directory, databaseURL: url)
            seeding = try InventorySeeder(databaseURL: url).seed(certificates: sizes.certificates, audit: sizes.audit, revoked: sizes.revokedCount)
        }
        note("starting the control plane on \(url), CPU \(cpu)")
        let control = try ControlPlaneProcess(binary: binary, directory: directory, databaseURL: url, cpu: cpu, logLevel: "warning")
        defer { control.stop() }
        let probe = try InventoryProbe(databaseURL: url, control: control, repeatCount: repeatCount, crlRepeat: crlRepeat)
        let timings = try probe.timeQueries()
        let counts = try probe.counts()

        var lines = ["Inventory: " + counts + " (database \(name))"]
        if let seeding { lines.append("Seeding (COPY through psql):\n" + seeding.table) }
        lines.append(String(format: "Load average (1 min) after the run: %.2f", ProcStat.loadAverage() ?? 0))
        lines.append(InventoryProbe.Timing.header)
        lines += timings.map(\.line)
        print(lines.joined(separator: "\n"))
        if let plans {
            note("EXPLAIN (ANALYZE, BUFFERS) of each statement into \(plans)")
            try probe.explainAll().write(toFile: plans, atomically: true, encoding: .utf8)
        }
    }
}
