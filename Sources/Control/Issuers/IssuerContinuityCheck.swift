import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SwiftASN1
import X509
import ScepterProtocol

/// Whether each issuer name the inventory holds still stands for the CA
/// that signed its certificates, at start and then every `interval`. The
/// inventory, CRLs and OCSP know an issuer by name, so two mistakes leave
/// certificates nothing a relying party reads can revoke (a third, two CAs
/// of one subject name, only confuses clients that pick a CA by name):
/// - a rollover done by pointing an issuer's `CA_CERT_PATH`/`CA_KEY_PATH` at
///   the new CA: the new CA answers for the old one's certificates, whose
///   CRL no longer lists them and whose OCSP requests it refuses;
/// - an issuer removed from `SCEPTER_ISSUERS` while certificates of it are
///   unexpired: its CRL and OCSP are no longer served at all.
/// Each round reads the names of every issuer with unexpired certificates
/// and, per configured issuer, the unexpired certificate that expires first
/// (the oldest CA's, if there is more than one), each from an index. It
/// publishes `scepter_issuer_unexpired_certificates` (the alert
/// `ScepterIssuerUnconfigured` reads it), logs each problem the first time
/// it is found for an issuer (its counts change as certificates expire; it
/// is not logged again for that), and never stops the process.
package final class IssuerContinuityCheck: Service, CustomStringConvertible, Sendable {
    let configuration: ControlConfiguration
    let store: any ControlStore
    let metrics: ControlMetrics?
    let logger: Logger
    let interval: Duration
    /// How soon a round that could not read the inventory (the database away,
    /// or the issuer index not built yet on a large one) is tried again.
    let retry: Duration
    let now: @Sendable () -> Date
    /// Issuers whose CAs share a subject name: configuration, read once.
    let sharedNames: [Problem]
    /// The problems already logged (by kind and issuer) and the issuer names already published.
    private let seen = Mutex<(problems: Set<Problem.Key>, names: Set<String>)>(([], []))

    /// One thing wrong with one issuer name.
    package struct Problem: Sendable {
        package enum Kind: Sendable, Hashable {
            case unconfigured, replaced, sharedName
        }

        package struct Key: Sendable, Hashable {
            var kind: Kind
            var issuer: String
        }

        package var key: Key
        package var message: String
    }

    /// What a round found, and whether it could read everything it asks the inventory.
    package struct Round: Sendable {
        package var problems: [Problem] = []
        package var complete = true
    }

    package init(
        configuration: ControlConfiguration, store: any ControlStore, metrics: ControlMetrics? = nil, logger: Logger,
        interval: Duration = .seconds(3600), retry: Duration = .seconds(60), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
        self.retry = retry
        self.now = now
        sharedNames = Self.sharedNames(configuration.issuers.values.sorted { $0.name < $1.name })
    }

    /// ServiceLifecycle logs each service as this: the issuers' names, never their keys.
    package var description: String { "IssuerContinuityCheck(issuers: \(configuration.issuers.keys.sorted()))" }

    package func run() async throws {
        var first = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let round = await cancelWhenGracefulShutdown { await self.round() }
            // A round cut short by SIGTERM is not reported.
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            let found = round.problems
            let fresh = seen.withLock { seen in
                defer { seen.problems.formUnion(found.map(\.key)) }
                return found.filter { !seen.problems.contains($0.key) }
            }
            for problem in fresh { logger.warning("\(problem.message)") }
            logger.log(
                level: first ? .info : .debug, "issuer continuity checked",
                metadata: ["issuers": "\(configuration.issuers.count)", "problems": "\(found.count)"])
            first = false
            // SIGTERM ends the wait at once.
            do {
                let wait = round.complete ? interval : min(interval, retry)
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
        }
    }

    /// One round: publishes the issuers' unexpired certificates and returns
    /// a problem per issuer name that another CA's or no configured CA's
    /// unexpired certificates still carry, or whose CA's subject another
    /// issuer's CA has too. What the database cannot be asked about is skipped.
    package func round() async -> Round {
        let at = now()
        var complete = true
        let configured = configuration.issuers.values.sorted { $0.name < $1.name }
        var found = sharedNames
        do {
            let statuses = IssuerStatus.all(configuration, inventory: try await store.issuerInventory(now: at))
            let earlier = seen.withLock { seen in
                defer { seen.names.formUnion(statuses.map(\.name)) }
                return seen.names
            }
            metrics?.recordIssuers(statuses, earlier: earlier)
            for status in statuses where status.state == .unconfigured {
                guard let held = status.inventory else { continue }
                found.append(
                    Problem(
                        key: .init(kind: .unconfigured, issuer: held.issuer),
                        message: "issuer \(held.issuer) is not in SCEPTER_ISSUERS, but the inventory holds \(held.unexpired) unexpired certificate(s) "
                        + "it issued (\(held.active) active, \(held.revoked) revoked), the last valid until \(held.lastExpiry): "
                        + "\(ControlConfiguration.crlPath(issuer: held.issuer)) and \(ControlConfiguration.ocspPath(issuer: held.issuer)) are not served, so revoking one reaches no relying party. Configure issuer "
                        + "\(held.issuer) again with its CA (SCEPTER_ISSUER_\(Settings.variableName(held.issuer))_CA_CERT_PATH and _CA_KEY_PATH) "
                        + "until then; no profile needs to use it (docs/ca.md, CA rollover)"))
            }
        } catch where !(error is CancellationError) && !Task.isCancelled {
            complete = false
            logger.notice(
                "issuers not checked against the inventory: it cannot be read; trying again within \(min(interval, retry))",
                metadata: ["error": "\(error)"])
        } catch {
            return Round(problems: found, complete: false)
        }
        for issuer in configured {
            let record: CertificateRecord?
            do {
                record = try await store.soonestExpiring(issuer: issuer.name, now: at)
            } catch {
                complete = false
                if Task.isCancelled { return Round(problems: found, complete: false) }
                logger.notice("issuer continuity not checked: the inventory cannot be read", metadata: ["issuer": "\(issuer.name)", "error": "\(error)"])
                continue
            }
            guard let record, let certificate = try? Certificate(derEncoded: record.der),
                !issuer.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
            else { continue }
            let prefix = "SCEPTER_ISSUER_\(Settings.variableName(issuer.name))_"
            found.append(
                Problem(
                    key: .init(kind: .replaced, issuer: issuer.name),
                    message: "issuer \(issuer.name)'s CA (\(issuer.certificate.subject)) did not sign certificate \(record.serialNumber), which the inventory "
                    + "records under that name (signed by \(certificate.issuer), valid until \(record.notAfter)): the CA behind \(prefix)CA_CERT_PATH "
                    + "was replaced, so that certificate and the others of the earlier CA are no longer on \(ControlConfiguration.crlPath(issuer: issuer.name)) "
                    + "and \(ControlConfiguration.ocspPath(issuer: issuer.name)) refuses them. Configure the earlier CA again under this name, and the new CA under a new "
                    + "issuer name that the profiles' ISSUER names (docs/ca.md, CA rollover)"))
        }
        return Round(problems: found, complete: complete)
    }

    /// One problem per group of configured issuers whose CAs have one subject name (configuration, so the same each round).
    static func sharedNames(_ issuers: [LocalCA]) -> [Problem] {
        var groups: [[LocalCA]] = []
        for issuer in issuers {
            if let index = groups.firstIndex(where: { $0[0].certificate.subject.matches(issuer.certificate.subject) }) {
                groups[index].append(issuer)
            } else {
                groups.append([issuer])
            }
        }
        return groups.filter { $0.count > 1 }.map { group in
            Problem(
                key: .init(kind: .sharedName, issuer: group[0].name),
                message: "issuers \(group.dropLast().map(\.name).joined(separator: ", ")) and \(group[group.count - 1].name) have CAs of one subject name (\(group[0].certificate.subject)): "
                    + "Scepter tells their certificates apart, but clients and relying parties that pick a CA by name (GetCRL, path "
                    + "building without key identifiers) may take the wrong one. Give the next CA a name of its own "
                    + "(scepter ca init --ca-name, docs/ca.md, CA rollover)")
        }
    }

}
