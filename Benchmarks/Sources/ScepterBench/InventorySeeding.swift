import ArgumentParser
import Foundation

/// `--seed-certificates` / `--seed-audit` of cluster mode: the run's fresh
/// database is seeded (after the control plane migrated it, before the
/// warm-up), so enrollment cost is measured against a large inventory.
struct InventorySeeding: ParsableArguments {
    @Option(help: "In --cluster-database mode, certificates (with their enrollments, one in ten revoked) seeded into the fresh database before the measured phase.")
    var seedCertificates = 0

    @Option(help: "In --cluster-database mode, audit events seeded the same way (default: 10 per seeded certificate).")
    var seedAudit: Int?

    func validate() throws {
        guard seedCertificates >= 0, (seedAudit ?? 0) >= 0 else { throw ValidationError("--seed-certificates and --seed-audit must be >= 0") }
    }

    var isRequested: Bool { seedCertificates > 0 || (seedAudit ?? 0) > 0 }

    /// Seeds `databaseURL` as asked; prints what it loaded and how long it took.
    func seed(_ databaseURL: String) throws {
        guard isRequested else { return }
        let audit = seedAudit ?? seedCertificates * 10
        note("seeding the run's database: \(seedCertificates) certificates, \(audit) audit events")
        let report = try InventorySeeder(databaseURL: databaseURL).seed(certificates: seedCertificates, audit: audit, revoked: seedCertificates / 10)
        note("seeded:\n" + report.table)
    }
}
