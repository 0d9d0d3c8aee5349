import Foundation
import Logging
import ServiceLifecycle
import SwiftASN1
import X509
import ScepterProtocol

/// At start, whether each issuer name still stands for the CA that signed
/// its certificates. The inventory, CRLs and OCSP know an issuer by name, so
/// a rollover done by pointing an issuer's `CA_CERT_PATH`/`CA_KEY_PATH` at
/// the new CA leaves the old CA's certificates under a name the new CA now
/// answers for: their CRL no longer lists them and OCSP refuses their
/// requests, so nothing a relying party reads can revoke them. The check
/// reads, per issuer, the valid certificate that expires first (the oldest
/// CA's, if there is more than one) among the `scanned` that expire first
/// overall (a bounded read, however large the inventory), and says so when
/// the issuer's CA did not sign it. It logs and never stops the start.
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

    /// How many of the soonest-expiring valid certificates are read.
    static let scanned = 10_000

    package func run() async throws {
        let found = await cancelWhenGracefulShutdown { await problems() }
        for problem in found { logger.warning("\(problem)") }
        logger.info("issuer continuity checked", metadata: ["issuers": "\(issuers.count)", "problems": "\(found.count)"])
        // A service that returns would stop the process: stay until shutdown.
        try? await gracefulShutdown()
    }

    /// One sentence per issuer whose name another CA's valid certificates
    /// still carry. An issuer the database cannot be asked about is skipped.
    package func problems() async -> [String] {
        var found: [String] = []
        for issuer in issuers.sorted(by: { $0.name < $1.name }) {
            let record: CertificateRecord?
            do {
                record = try await store.soonestExpiring(issuer: issuer.name, now: now(), within: Self.scanned)
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
