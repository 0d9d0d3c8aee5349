import Foundation
import Logging
import ServiceLifecycle
import SwiftASN1
import X509
import ScepterProtocol

/// At start, whether each issuer name the inventory holds still stands for
/// the CA that signed its certificates. The inventory, CRLs and OCSP know an
/// issuer by name, so two mistakes leave certificates nothing a relying
/// party reads can revoke:
/// - a rollover done by pointing an issuer's `CA_CERT_PATH`/`CA_KEY_PATH` at
///   the new CA: the new CA answers for the old one's certificates, whose
///   CRL no longer lists them and whose OCSP requests it refuses;
/// - an issuer removed from `SCEPTER_ISSUERS` while certificates of it are
///   unexpired: its CRL and OCSP are no longer served at all.
/// The check reads, per configured issuer, the unexpired certificate that
/// expires first (the oldest CA's, if there is more than one), and the
/// names of every issuer with unexpired certificates, each from an index.
/// It logs and never stops the start.
package struct IssuerContinuityCheck: Service, CustomStringConvertible {
    let issuers: [LocalCA]
    let store: any ControlStore
    let logger: Logger
    let now: @Sendable () -> Date

    package init(issuers: [LocalCA], store: any ControlStore, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.issuers = issuers
        self.store = store
        self.logger = logger
        self.now = now
    }

    /// ServiceLifecycle logs each service as this: the issuers' names, never their keys.
    package var description: String { "IssuerContinuityCheck(issuers: \(issuers.map(\.name).sorted()))" }

    package func run() async throws {
        let found = await cancelWhenGracefulShutdown { await problems() }
        for problem in found { logger.warning("\(problem)") }
        logger.info("issuer continuity checked", metadata: ["issuers": "\(issuers.count)", "problems": "\(found.count)"])
        // A service that returns would stop the process: stay until shutdown.
        try? await gracefulShutdown()
    }

    /// One sentence per issuer name that another CA's or no configured CA's
    /// unexpired certificates still carry. What the database cannot be asked about is skipped.
    package func problems() async -> [String] {
        let at = now()
        var found: [String] = []
        do {
            let configured = Set(issuers.map(\.name))
            for held in try await store.issuerInventory(now: at) where !configured.contains(held.issuer) {
                found.append(
                    "issuer \(held.issuer) is not in SCEPTER_ISSUERS, but the inventory holds \(held.unexpired) unexpired certificate(s) "
                        + "it issued (\(held.active) active, \(held.revoked) revoked), the last valid until \(held.lastExpiry): /crl/\(held.issuer).crl "
                        + "and /ocsp/\(held.issuer) are not served, so revoking one reaches no relying party. Configure issuer "
                        + "\(held.issuer) again with its CA (SCEPTER_ISSUER_\(Settings.variableName(held.issuer))_CA_CERT_PATH and _CA_KEY_PATH) "
                        + "until then; no profile needs to use it (docs/ca.md, CA rollover)")
            }
        } catch {
            logger.notice("issuers not checked against the inventory: it cannot be read", metadata: ["error": "\(error)"])
        }
        for issuer in issuers.sorted(by: { $0.name < $1.name }) {
            let record: CertificateRecord?
            do {
                record = try await store.soonestExpiring(issuer: issuer.name, now: at)
            } catch {
                logger.notice("issuer continuity not checked: the inventory cannot be read", metadata: ["issuer": "\(issuer.name)", "error": "\(error)"])
                continue
            }
            guard let record, let certificate = try? Certificate(derEncoded: record.der),
                !issuer.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
            else { continue }
            let prefix = "SCEPTER_ISSUER_\(Settings.variableName(issuer.name))_"
            found.append(
                "issuer \(issuer.name)'s CA (\(issuer.certificate.subject)) did not sign certificate \(record.serialNumber), which the inventory "
                    + "records under that name (signed by \(certificate.issuer), valid until \(record.notAfter)): the CA behind \(prefix)CA_CERT_PATH "
                    + "was replaced, so that certificate and the others of the earlier CA are no longer on /crl/\(issuer.name).crl and "
                    + "/ocsp/\(issuer.name) refuses them. Configure the earlier CA again under this name, and the new CA under a new "
                    + "issuer name that the profiles' ISSUER names (docs/ca.md, CA rollover)")
        }
        return found
    }
}
