import Testing
import ScepterEdge
import ScepterProtocol

@Suite("Edge metrics", .timeLimit(.minutes(1)))
struct EdgeMetricsTests {
    @Test("Every profile's outcome counters are exported at 0 from the start, so the first refusal is an increase")
    func outcomeCountersStartAtZero() {
        let metrics = EdgeMetrics()
        metrics.startCounting(profiles: ["corp", "wifi"])
        let rendered = String(decoding: metrics.render(), as: UTF8.self)
        for profile in ["corp", "wifi"] {
            for outcome in Outcome.allCases {
                #expect(
                    rendered.contains(#"scepter_enrollments_total{profile="\#(profile)",outcome="\#(outcome.rawValue)"} 0"#),
                    "\(profile) \(outcome)")
            }
        }
        metrics.record(profile: "corp", outcome: .unknownVersion, duration: .milliseconds(3))
        #expect(String(decoding: metrics.render(), as: UTF8.self).contains(#"scepter_enrollments_total{profile="corp",outcome="unknown_version"} 1"#))
    }
}
