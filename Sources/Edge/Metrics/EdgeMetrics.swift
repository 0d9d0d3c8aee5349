import Foundation
import Prometheus
import Synchronization
import ScepterProtocol

/// The edge's Prometheus metrics, rendered at `/metrics`.
package struct EdgeMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    /// The anchor gauges currently registered, by profile, so a reload can retire old ones.
    private let anchorGauges = GaugeSets()

    private final class GaugeSets: Sendable {
        let byProfile = Mutex<[String: [Gauge]]>([:])
    }

    package init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    static var enrollments: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "enrollments", unitName: "total",
            helpText: "SCEP PKIOperations by profile and outcome label")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "pkioperation_duration", unitName: "seconds",
            helpText: "Time from request to CertRep for SCEP PKIOperations")
    }
    static var anchorNotAfter: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "trust_anchor_not_after", unitName: "seconds",
            helpText: "notAfter of each Intune Connector trust anchor in use, as Unix time")
    }
    static var reloadSucceeded: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "trust_anchor_last_reload", unitName: "success",
            helpText: "1 when the last trust anchor (re)load of the profile succeeded, 0 when it kept the old anchors")
    }

    static var raNotAfter: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "ra_certificate_not_after", unitName: "seconds",
            helpText: "notAfter of each profile's RA certificate (the earlier of signing and encryption), as Unix time")
    }

    /// Publishes when each profile's RA certificate expires; returns a
    /// warning for the log for each that does within 30 days.
    package func recordRACertificates(of configuration: EdgeConfiguration, now: Date) -> [String] {
        configuration.profiles.values.sorted { $0.name < $1.name }.compactMap { profile in
            guard let notAfter = profile.ra.notAfter else { return nil }
            registry.makeGauge(descriptor: Self.raNotAfter, labels: [("profile", profile.name)]).set(notAfter.timeIntervalSince1970)
            return CertificateExpiry.warning("the RA certificate of profile \(profile.name)", notAfter: notAfter, now: now)
        }
    }

    /// Publishes the anchors a profile uses now, replacing the previous set.
    package func recordAnchors(profile: String, anchors: TrustAnchors, reloadSucceeded: Bool) {
        let gauges = anchors.anchors.map { anchor in
            let gauge = registry.makeGauge(
                descriptor: Self.anchorNotAfter,
                labels: [("profile", profile), ("fingerprint", anchor.fingerprint), ("subject", anchor.subject)])
            gauge.set(anchor.notAfter.timeIntervalSince1970)
            return gauge
        }
        let retired = anchorGauges.byProfile.withLock { current -> [Gauge] in
            let previous = current[profile] ?? []
            current[profile] = gauges
            return previous.filter { old in !gauges.contains { $0 === old } }
        }
        for gauge in retired { registry.unregisterGauge(gauge) }
        registry.makeGauge(descriptor: Self.reloadSucceeded, labels: [("profile", profile)]).set(reloadSucceeded ? 1.0 : 0.0)
    }

    /// Publishes every profile's counter of every outcome at 0 from the start:
    /// a series born at 1 shows no increase, so an alert on the first
    /// `unknown_version` after a restart would never fire.
    package func startCounting(profiles: some Sequence<String>) {
        for profile in profiles {
            for outcome in Outcome.allCases {
                _ = registry.makeCounter(descriptor: Self.enrollments, labels: [("profile", profile), ("outcome", outcome.rawValue)])
            }
        }
    }

    /// Counts one PKIOperation by profile and outcome label and observes its latency.
    package func record(profile: String, outcome: Outcome, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.enrollments, labels: [("profile", profile), ("outcome", outcome.rawValue)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("profile", profile)], buckets: LatencyBuckets.standard
        ).recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition.
    static var unaudited: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "unaudited_refusals", unitName: "total",
            helpText: "Unauthenticated refusals counted but not audited one by one (one per source and outcome per minute is), by outcome")
    }

    package func recordUnaudited(outcome: Outcome) {
        registry.makeCounter(descriptor: Self.unaudited, labels: [("outcome", outcome.rawValue)]).increment()
    }

    package func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
