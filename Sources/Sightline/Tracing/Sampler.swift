// Not yet: OpenTelemetry's record-only decision (recorded but not exported) and samplers
// that amend the tracestate are not supported.

/// What a sampler decided for a new span.
public enum SamplingDecision: Hashable, Sendable {
    /// The span is not recorded; its context carries the sampled flag clear.
    case drop
    /// The span is recorded, exported, and its context carries the sampled flag set.
    case recordAndSample
}

/// Decides whether a new span is sampled.
///
/// Called synchronously on the thread that starts the span, so implementations MUST be
/// cheap and MUST NOT block.
public protocol Sampler: Sendable {
    /// - Parameters:
    ///   - parent: the parent's context, or nil for a root span (an invalid parent context
    ///     is passed as nil).
    ///   - traceID: the trace id the new span will have.
    ///   - attributes: the attributes given when the span was started.
    func shouldSample(
        parent: SpanContext?, traceID: TraceID, name: String, kind: SpanKind,
        attributes: SpanAttributes, links: [SpanLinkData]
    ) -> SamplingDecision
}

/// The samplers named by `OTEL_TRACES_SAMPLER`, with the same spelling as raw values.
public enum SamplerKind: String, CaseIterable, Hashable, Sendable {
    case alwaysOn = "always_on"
    case alwaysOff = "always_off"
    case traceIDRatio = "traceidratio"
    case parentBasedAlwaysOn = "parentbased_always_on"
    case parentBasedAlwaysOff = "parentbased_always_off"
    case parentBasedTraceIDRatio = "parentbased_traceidratio"

    /// True for the kinds that read `OTEL_TRACES_SAMPLER_ARG`.
    public var usesRatio: Bool { self == .traceIDRatio || self == .parentBasedTraceIDRatio }
}

/// The OpenTelemetry built-in samplers, selected by a ``SamplerKind``.
///
/// Trace-id ratio: a trace is sampled when the lower 64 bits of its trace id, read as an
/// unsigned number, are below `ratio × 2^64` (rounded). The decision depends on nothing but
/// the trace id, so every service configured with the same ratio agrees on the same trace,
/// and the rule is the one the OpenTelemetry Python SDK uses, so they agree with it too.
/// Ratio 0 samples nothing, ratio 1 everything.
///
/// Parent-based kinds follow the parent's sampled flag, for remote and local parents alike,
/// and use the ratio (or always-on / always-off) only for root spans.
public struct StandardSampler: Sampler, CustomStringConvertible {
    public var kind: SamplerKind
    /// In [0, 1]; read only by the ratio kinds. Out-of-range values are clamped.
    public var ratio: Double

    public init(kind: SamplerKind, ratio: Double = 1.0) {
        self.kind = kind
        self.ratio = ratio
    }

    public var description: String {
        kind.usesRatio ? "\(kind.rawValue){\(ratio)}" : kind.rawValue
    }

    public func shouldSample(
        parent: SpanContext?, traceID: TraceID, name: String, kind spanKind: SpanKind,
        attributes: SpanAttributes, links: [SpanLinkData]
    ) -> SamplingDecision {
        switch kind {
        case .alwaysOn: return .recordAndSample
        case .alwaysOff: return .drop
        case .traceIDRatio: return Self.ratioDecision(traceID: traceID, ratio: ratio)
        case .parentBasedAlwaysOn, .parentBasedAlwaysOff, .parentBasedTraceIDRatio:
            if let parent, parent.isValid {
                return parent.flags.isSampled ? .recordAndSample : .drop
            }
            switch kind {
            case .parentBasedAlwaysOn: return .recordAndSample
            case .parentBasedAlwaysOff: return .drop
            default: return Self.ratioDecision(traceID: traceID, ratio: ratio)
            }
        }
    }

    /// The trace-id ratio rule on its own (see the type's documentation).
    public static func ratioDecision(traceID: TraceID, ratio: Double) -> SamplingDecision {
        guard ratio > 0, !ratio.isNaN else { return .drop }
        guard ratio < 1 else { return .recordAndSample }

        // ratio × 2^64 is below 2^64 here, but rounding can reach it: clamp to the maximum.
        let scaled = (ratio * 18_446_744_073_709_551_616.0).rounded()
        let bound = scaled >= 18_446_744_073_709_551_616.0 ? UInt64.max : UInt64(scaled)
        return traceID.low < bound ? .recordAndSample : .drop
    }
}
