import Prometheus
import ScepterProtocol

/// The edge's Prometheus metrics, rendered at `/metrics`.
public struct EdgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
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

    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    /// Counts one PKIOperation by profile and outcome label and observes its latency.
    public func record(profile: String, outcome: Outcome, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.enrollments, labels: [("profile", profile), ("outcome", outcome.rawValue)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("profile", profile)], buckets: Self.latencyBuckets
        ).recordNanoseconds(duration.nanoseconds)
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
