import Foundation

/// A trace that illustrates one histogram bucket: the span whose observation landed there.
///
/// Histograms keep the latest exemplar per bucket; OpenMetrics exposition renders it after the
/// bucket's sample so that a dashboard can jump from a latency bucket to a trace.
public struct Exemplar: Sendable, Hashable {
    /// The trace of the observed operation.
    public var traceID: TraceID
    /// The span of the observed operation.
    public var spanID: SpanID
    /// The observed value (usually the value passed to `observe`).
    public var value: Double
    /// When the observation was made; nil renders no timestamp.
    public var timestamp: Date?

    public init(traceID: TraceID, spanID: SpanID, value: Double, timestamp: Date? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.value = value
        self.timestamp = timestamp
    }
}
