/// The kind of a metric family, as the exposition formats name it.
public enum MetricType: String, Sendable, Hashable {
    /// A value that only goes up (or resets to zero when the process restarts).
    case counter
    /// A value that goes up and down.
    case gauge
    /// Observations counted into buckets, with their sum and count.
    case histogram
}
