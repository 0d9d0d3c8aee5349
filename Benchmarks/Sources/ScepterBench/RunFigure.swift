import Foundation

/// One run's figure against its target in issue #14, for `--repeats`: the
/// server CPU / crypto multiple of a closed-loop run, or the p99 latency of
/// an open loop. Separate runs on this VM move by up to half with nothing
/// changed, so a verdict is read from the median of a few.
struct RunFigure {
    enum Kind {
        /// Server CPU per enrollment / the crypto it needs; at most the target.
        case multiple
        /// Open-loop p99 latency at half of peak (ms); below the target.
        case p99

        func text(_ value: Double) -> String {
            switch self {
            case .multiple: String(format: "%.2f ×", value)
            case .p99: String(format: "%.1f ms", value)
            }
        }

        func meets(_ value: Double, target: Double) -> Bool {
            switch self {
            case .multiple: value <= target
            case .p99: value < target
            }
        }
    }

    var kind: Kind
    var value: Double
    /// What the figure is made of, e.g. "3.517 ms server CPU / 0.909 ms crypto".
    var detail: String
    var target: Double

    static func multiple(of result: BenchResult) -> RunFigure {
        RunFigure(
            kind: .multiple, value: 1 / result.ratio,
            detail: String(format: "%.3f ms server CPU / %.3f ms crypto", result.serverCPUMillisecondsPerEnrollment, result.cryptoMilliseconds),
            target: 1 / result.targetRatio)
    }

    static func p99(_ milliseconds: Double, rate: Double) -> RunFigure {
        RunFigure(kind: .p99, value: milliseconds, detail: String(format: "at %.1f/s", rate), target: issueTargetP99Milliseconds)
    }

    /// Each run's figure, then their median beside the target.
    static func summary(_ figures: [RunFigure], mode: String) -> String {
        guard let first = figures.first else { return "no run gave a figure" }
        let kind = first.kind, target = first.target
        let sorted = figures.map(\.value).sorted()
        // The harness's one median (as elsewhere): of an even count, the lower middle.
        let median = percentile(sorted, 0.5)
        var lines = [
            "Across \(figures.count) fresh runs (\(mode)): "
                + (kind == .multiple ? "server CPU / crypto" : "open-loop p99 latency at half of the peak")
        ]
        for (index, figure) in figures.enumerated() {
            lines.append("  run \(index + 1)    \(kind.text(figure.value))  (\(figure.detail))")
        }
        let comparison = kind == .multiple ? "<=" : "<"
        lines.append(
            "  median   \(kind.text(median))  (range \(kind.text(sorted[0])) to \(kind.text(sorted[sorted.count - 1]))); "
                + "target \(comparison) \(kind.text(target)): " + (kind.meets(median, target: target) ? "met" : "NOT met"))
        return lines.joined(separator: "\n")
    }
}
