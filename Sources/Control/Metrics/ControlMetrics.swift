import Foundation
import Prometheus
import ScepterProtocol

/// The control plane's Prometheus metrics, rendered at `/metrics`.
public struct ControlMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    private static func named(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "scepter", metricName: metric, unitName: unit, helpText: help)
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
        named("audit_events_lost", "total", "Audit events trimmed from the stream before they were copied (the consumer fell behind its cap)")
    }

    /// One enrollment job answered (or not: `decision` "unavailable").
    public func recordDecision(profile: String, decision: String, duration: Duration) {
        registry.makeCounter(descriptor: Self.decisions, labels: [("profile", profile), ("decision", decision)]).increment()
        registry.makeDurationHistogram(descriptor: Self.issuanceLatency, labels: [("profile", profile)], buckets: LatencyBuckets.standard)
            .recordNanoseconds(duration.nanoseconds)
    }

    public func recordCopied(_ count: Int) {
        registry.makeCounter(descriptor: Self.auditCopied).increment(by: Int64(count))
    }

    public func recordConsumerFailure() {
        registry.makeCounter(descriptor: Self.auditFailures).increment()
    }

    public func recordLost() {
        registry.makeCounter(descriptor: Self.auditLost).increment()
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
