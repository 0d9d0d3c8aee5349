import Foundation
import Prometheus
import ScepterProtocol
import X509

/// The control plane's Prometheus metrics, rendered at `/metrics`.
package struct ControlMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static func named(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scepter", metricName: metric, unitName: unit, helpText: help)
    }

    static var issuerNotAfter: MetricNameDescriptor {
        named("issuer_certificate_not_after", "seconds", "notAfter of each issuing CA certificate, as Unix time")
    }

    static var issuerUnexpired: MetricNameDescriptor {
        named("issuer_unexpired_certificates", "",
            "Certificates of each issuer name not yet expired, by its state: current (a profile issues from it), retired (configured, "
                + "no profile does) or unconfigured (not in SCEPTER_ISSUERS: their CRL and OCSP are not served)")
    }

    /// Publishes each issuer's unexpired certificates under its state, and 0
    /// for each of `earlier` (names published before) no longer among them.
    package func recordIssuers(_ statuses: [IssuerStatus], earlier: Set<String>) {
        for status in statuses {
            registry.makeGauge(descriptor: Self.issuerUnexpired, labels: [("issuer", status.name), ("state", status.state.rawValue)])
                .set(Double(status.inventory?.unexpired ?? 0))
        }
        for name in earlier.subtracting(statuses.map(\.name)) {
            registry.makeGauge(descriptor: Self.issuerUnexpired, labels: [("issuer", name), ("state", IssuerStatus.State.unconfigured.rawValue)]).set(0.0)
        }
    }

    static var intuneClientNotAfter: MetricNameDescriptor {
        named("intune_client_certificate_not_after", "seconds", "notAfter of each profile's Entra client certificate (INTUNE_CLIENT_CERT_PATH), as Unix time")
    }

    /// Publishes when each issuer's CA certificate and each profile's Entra
    /// client certificate expire; returns a warning for the log for each
    /// that does within 30 days (certificates an issuer issues are cut at
    /// its notAfter, so they get shorter first).
    package func recordCertificateExpiries(of configuration: ControlConfiguration, now: Date) -> [String] {
        let issuers = Dictionary(configuration.profiles.values.map { ($0.issuer.name, $0.issuer) }, uniquingKeysWith: { first, _ in first })
        let issuerWarnings = issuers.keys.sorted().compactMap { name in
            let notAfter = issuers[name]!.certificate.notValidAfter
            registry.makeGauge(descriptor: Self.issuerNotAfter, labels: [("issuer", name)]).set(notAfter.timeIntervalSince1970)
            return CertificateExpiry.warning("the CA certificate of issuer \(name)", notAfter: notAfter, now: now)
        }
        let clientWarnings = configuration.profiles.values.sorted { $0.name < $1.name }.compactMap { profile -> String? in
            guard case .certificate(let der, _) = profile.intuneAPI?.credential, let notAfter = CertificateExpiry.validity(of: der)?.upperBound
            else { return nil }
            registry.makeGauge(descriptor: Self.intuneClientNotAfter, labels: [("profile", profile.name)]).set(notAfter.timeIntervalSince1970)
            return CertificateExpiry.warning("the Entra client certificate of profile \(profile.name)", notAfter: notAfter, now: now)
        }
        return issuerWarnings + clientWarnings
    }

    static var decisions: MetricNameDescriptor {
        named("control_enrollment_decisions", "total", "Answers to edges' enrollment jobs by profile and decision (issued, pending, rejected, unavailable)")
    }
    static var issuanceLatency: MetricNameDescriptor {
        named("control_enrollment_duration", "seconds", "Time the control plane took to answer an enrollment job")
    }
    static var auditCopied: MetricNameDescriptor {
        named("audit_events_copied", "total", "Audit events copied from the Redis stream into the database")
    }
    static var auditFailures: MetricNameDescriptor {
        named("audit_stream_failures", "total", "Failed audit-stream consumer rounds (Redis or the database unreachable); events wait in the stream")
    }
    static var auditLost: MetricNameDescriptor {
        named("audit_events_lost", "total", "Audit events gone from the stream before they were copied (deleted by hand: Scepter never trims it)")
    }
    static var auditPruned: MetricNameDescriptor {
        named("audit_events_pruned", "total", "Audit events deleted because they were older than SCEPTER_AUDIT_RETENTION")
    }
    static var auditBacklog: MetricNameDescriptor {
        named("audit_stream_backlog", "", "Audit events in the Redis stream not yet copied; edges answer 503 once it reaches the limit")
    }
    static var auditBacklogLimit: MetricNameDescriptor {
        named("audit_stream_backlog_limit", "", "The backlog at which edges refuse new events (and so enrollments) until it drains")
    }

    static var intuneRequests: MetricNameDescriptor {
        named("intune_api_requests", "total", "Calls to Intune's services by call and HTTP status (unreachable, or breaker_open when none was sent)")
    }
    static var intuneLatency: MetricNameDescriptor {
        named("intune_api_request_duration", "seconds", "Time each call to Intune took, by call")
    }
    static var intuneCodes: MetricNameDescriptor {
        named("intune_validation_codes", "total", "Intune validateRequest answers by Microsoft's code (Success, ChallengeExpired, ...)")
    }
    static var tokenRefreshes: MetricNameDescriptor {
        named("intune_token_refreshes", "total", "Entra ID tokens obtained, by scope (intune, graph)")
    }
    static var breakerState: MetricNameDescriptor {
        named("intune_breaker_state", "", "Circuit breaker per Intune service and tenant: 0 closed, 1 open, 2 half-open")
    }
    static var revocations: MetricNameDescriptor {
        named("intune_revocations", "total", "Intune revocation requests processed, by result (revoked, already_revoked, not_found, failed)")
    }

    /// One enrollment job answered; nil: not answered (unavailable).
    package func recordDecision(profile: String, decision: InternalAPI.Decision.Status?, duration: Duration) {
        let label = decision?.rawValue ?? "unavailable"
        registry.makeCounter(descriptor: Self.decisions, labels: [("profile", profile), ("decision", label)]).increment()
        registry.makeDurationHistogram(descriptor: Self.issuanceLatency, labels: [("profile", profile)], buckets: LatencyBuckets.standard)
            .recordNanoseconds(duration.nanoseconds)
    }

    package func recordCopied(_ count: Int) {
        registry.makeCounter(descriptor: Self.auditCopied).increment(by: Int64(count))
    }

    package func recordConsumerFailure() {
        registry.makeCounter(descriptor: Self.auditFailures).increment()
    }

    /// Audit events deleted by retention (0 creates the counter, so it is scraped before the first deletion).
    package func recordPruned(_ count: Int) {
        registry.makeCounter(descriptor: Self.auditPruned).increment(by: Int64(count))
    }

    package func recordBacklog(_ length: Int, limit: Int) {
        registry.makeGauge(descriptor: Self.auditBacklog).set(Double(length))
        registry.makeGauge(descriptor: Self.auditBacklogLimit).set(Double(limit))
    }

    /// Creates the audit stream's counters at zero, so an alert on their
    /// increase sees the first event (a series that appears at 1 shows none).
    package func recordStreamCounters() {
        for descriptor in [Self.auditCopied, Self.auditFailures, Self.auditLost] {
            registry.makeCounter(descriptor: descriptor).increment(by: Int64(0))
        }
    }

    package func recordLost() {
        registry.makeCounter(descriptor: Self.auditLost).increment()
    }

    package func recordIntuneRequest(call: IntuneAPIError.Call, code: String, duration: Duration?) {
        registry.makeCounter(descriptor: Self.intuneRequests, labels: [("call", call.rawValue), ("code", code)]).increment()
        if let duration {
            registry.makeDurationHistogram(descriptor: Self.intuneLatency, labels: [("call", call.rawValue)], buckets: LatencyBuckets.standard)
                .recordNanoseconds(duration.nanoseconds)
        }
    }

    package func recordIntuneCode(_ code: String) {
        // Microsoft's codes are a closed set in practice; cap odd ones to keep the label set small.
        let label = code.count <= 64 && code.allSatisfy({ $0.isLetter || $0.isNumber }) ? code : "other"
        registry.makeCounter(descriptor: Self.intuneCodes, labels: [("code", label)]).increment()
    }

    package func recordTokenRefresh(scope: String) {
        registry.makeCounter(descriptor: Self.tokenRefreshes, labels: [("scope", scope)]).increment()
    }

    package func recordBreaker(service: String, tenant: String, state: CircuitBreaker.State) {
        registry.makeGauge(descriptor: Self.breakerState, labels: [("service", service), ("tenant", tenant)]).set(Double(state.gaugeValue))
    }

    package func recordRevocation(result: String) {
        registry.makeCounter(descriptor: Self.revocations, labels: [("result", result)]).increment()
    }

    /// The Prometheus text exposition.
    package func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
