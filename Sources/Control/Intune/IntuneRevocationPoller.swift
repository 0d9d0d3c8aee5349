import Foundation
import Logging
import ScepterProtocol
import ServiceLifecycle

/// Revokes what Intune asks (device wiped, retired, profile removed): every
/// `SCEPTER_INTUNE_REVOCATION_INTERVAL`, one replica at a time cluster-wide,
/// download the pending requests of each app registration, revoke each
/// serial in the inventory (the revocation the CRL and GetCRL publish),
/// audit it, and upload every result. A serial Scepter did not issue for
/// that tenant is reported `CertificateNotFoundError`, never ignored.
package struct IntuneRevocationPoller: Service {
    /// One app registration and the profiles whose certificates it may revoke.
    package struct Tenant: Sendable {
        let client: IntuneClient
        let profiles: Set<String>
    }

    let tenants: [Tenant]
    let store: any ControlStore
    let lease: any ClusterLease
    let interval: Duration
    let metrics: ControlMetrics?
    let logger: Logger
    let now: @Sendable () -> Date

    /// Requests per download (Microsoft's maximum) and downloads per round.
    static let batch = 500
    static let maxBatchesPerRound = 20

    package init(
        clients: [String: IntuneClient], store: any ControlStore, lease: any ClusterLease, interval: Duration,
        metrics: ControlMetrics?, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        // Profiles sharing an app registration share one client: one download for all of them.
        var grouped: [ObjectIdentifier: (IntuneClient, Set<String>)] = [:]
        for (profile, client) in clients {
            grouped[ObjectIdentifier(client), default: (client, [])].1.insert(profile)
        }
        self.tenants = grouped.values.map { Tenant(client: $0.0, profiles: $0.1) }.sorted { $0.client.settings.clientKey < $1.client.settings.clientKey }
        self.store = store
        self.lease = lease
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    package func run() async throws {
        guard !tenants.isEmpty else { return }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await pollOnce()
            // SIGTERM ends the wait at once.
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One round over every tenant; the lease keeps other replicas out meanwhile.
    package func pollOnce() async {
        for tenant in tenants {
            let key = "intune-revocation:" + SHA256Hex.of(tenant.client.settings.clientKey).prefix(16)
            // The lease outlives a slow round: 20 downloads and uploads at the call timeout, with retries.
            let ttl = tenant.client.settings.timeout * (Self.maxBatchesPerRound * 2 * Retry.attempts) + .seconds(60)
            let ran = await lease.withLease(key, ttl: ttl) { await poll(tenant) }
            if !ran { logger.debug("Intune revocation round skipped: another replica holds the lease", metadata: ["tenant": "\(tenant.client.settings.tenantID)"]) }
        }
    }

    private func poll(_ tenant: Tenant) async {
        for _ in 0..<Self.maxBatchesPerRound {
            let requests: [IntuneClient.RevocationRequest]
            do {
                requests = try await tenant.client.downloadRevocationRequests(maxRequests: Self.batch)
            } catch {
                logger.error("Intune revocation requests not downloaded", metadata: ["tenant": "\(tenant.client.settings.tenantID)", "error": "\(error)"])
                return
            }
            guard !requests.isEmpty else { return }
            var results: [IntuneClient.RevocationResult] = []
            for request in requests {
                results.append(await revoke(request, tenant: tenant))
            }
            do {
                try await tenant.client.uploadRevocationResults(results)
            } catch {
                // Intune hands the requests out again; revoking twice is harmless (already revoked → succeeded).
                logger.error("Intune revocation results not uploaded", metadata: ["tenant": "\(tenant.client.settings.tenantID)", "error": "\(error)"])
                return
            }
            if requests.count < Self.batch { return }
        }
    }

    /// What one revocation request came to: the result Intune gets, the metric label, the audit row.
    private struct Handled: Sendable {
        var result: IntuneClient.RevocationResult
        var label: String
        var outcome: Outcome
        var profile: String
        var details: String
        /// Whether the audit row is written already (in the revocation's transaction).
        var audited = false

        func auditEvent(serial: String, requestContext: String, at: Date) -> AuditEvent {
            AuditEvent(
                time: at, edgeID: "control", sourceAddress: nil, profile: profile, operation: .intuneRevocation,
                transactionID: requestContext, outcome: outcome, serialNumber: serial, latencyMilliseconds: 0, details: details)
        }
    }

    private func revoke(_ request: IntuneClient.RevocationRequest, tenant: Tenant) async -> IntuneClient.RevocationResult {
        let serial = Self.normalized(request.serialNumber)
        let at = now()
        let handled = await handle(request, serial: serial, tenant: tenant, at: at)
        metrics?.recordRevocation(result: handled.label)
        logger.notice("Intune revocation request", metadata: ["serial": "\(serial)", "result": "\(handled.label)", "profile": "\(handled.profile)"])
        guard !handled.audited else { return handled.result }
        do {
            try await store.insertAudit(handled.auditEvent(serial: serial, requestContext: request.requestContext, at: at))
        } catch {
            logger.error("Intune revocation not audited", metadata: ["serial": "\(serial)", "error": "\(error)"])
        }
        return handled.result
    }

    private func handle(_ request: IntuneClient.RevocationRequest, serial: String, tenant: Tenant, at: Date) async -> Handled {
        let context = request.requestContext
        let issuer = request.issuerName ?? "-"
        func notOurs(_ why: String) -> Handled {
            Handled(
                result: .init(
                    requestContext: context, succeeded: false, errorCode: "CertificateNotFoundError",
                    errorMessage: "certificate \(serial) was not issued by this Scepter for this tenant"),
                label: "not_found", outcome: .unknownTransaction, profile: "*",
                details: "Intune asked to revoke serial \(serial) (issuer \(issuer)), but \(why); reported CertificateNotFoundError")
        }
        do {
            guard let existing = try await store.certificate(serialNumber: serial) else { return notOurs("Scepter did not issue it") }
            guard tenant.profiles.contains(existing.profile) else {
                return notOurs("it belongs to profile \(existing.profile), which does not use this Intune tenant")
            }
            let succeeded = IntuneClient.RevocationResult(requestContext: context, succeeded: true, errorCode: "None", errorMessage: "")
            // Audited in the revocation's own transaction.
            let revoked = Handled(
                result: succeeded, label: "revoked", outcome: .success, profile: existing.profile,
                details: "revoked at Intune's request (device wiped, retired or profile removed); issuer \(issuer)", audited: true)
            let already = Handled(
                result: succeeded, label: "already_revoked", outcome: .success, profile: existing.profile,
                details: "Intune asked to revoke a certificate already revoked; reported as succeeded", audited: true)
            let revocation = Revocation(serialNumber: serial, reason: .privilegeWithdrawn, actor: "intune", at: at)
            let outcome = try await store.revoke(revocation) { outcome in
                switch outcome {
                case .revoked: revoked.auditEvent(serial: serial, requestContext: context, at: at)
                case .alreadyRevoked: already.auditEvent(serial: serial, requestContext: context, at: at)
                case .notFound: nil
                }
            }
            switch outcome {
            case .revoked:
                return revoked
            case .alreadyRevoked:
                return already
            case .notFound:
                return notOurs("it disappeared from the inventory meanwhile")
            }
        } catch {
            return Handled(
                result: .init(requestContext: context, succeeded: false, errorCode: "Unknown", errorMessage: "the certificate inventory is unavailable; retry"),
                label: "failed", outcome: .unavailable, profile: "*",
                details: "Intune asked to revoke serial \(serial); the inventory could not be updated: \(error)")
        }
    }

    /// Serials as Scepter stores them: lowercase hex without separators.
    static func normalized(_ serial: String) -> String {
        serial.lowercased().filter { $0.isHexDigit }
    }
}
