import Sightline
import Synchronization

/// Samples the first `limit` new traces and nothing after them; children follow their
/// parent. The demo uses it to draw a few traces without recording every span of the run.
public final class FirstTracesSampler: Sampler {
    private let remaining: Atomic<Int>

    public init(limit: Int) {
        remaining = Atomic(limit)
    }

    public func shouldSample(
        parent: SpanContext?, traceID: TraceID, name: String, kind: SpanKind,
        attributes: SpanAttributes, links: [SpanLinkData]
    ) -> SamplingDecision {
        if let parent {
            return parent.flags.isSampled ? .recordAndSample : .drop
        }
        let left = remaining.subtract(1, ordering: .relaxed).newValue
        return left >= 0 ? .recordAndSample : .drop
    }
}
