/// A copy of one metric family taken at scrape time, for the exposition formats.
public struct MetricFamilySnapshot: Sendable, Equatable {
    /// The family name; counters include their `_total` suffix.
    public var name: String
    public var help: String
    public var type: MetricType
    public var labelNames: [String]
    /// Series in the order they were first used.
    public var series: [MetricSeriesSnapshot]

    public init(
        name: String, help: String, type: MetricType, labelNames: [String],
        series: [MetricSeriesSnapshot]
    ) {
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labelNames
        self.series = series
    }
}

/// One series of a family snapshot: its label values (in the family's label-name order) and
/// its value.
public struct MetricSeriesSnapshot: Sendable, Equatable {
    public var labelValues: [String]
    public var value: MetricSampleValue

    public init(labelValues: [String], value: MetricSampleValue) {
        self.labelValues = labelValues
        self.value = value
    }
}

/// The value of one series at scrape time.
public enum MetricSampleValue: Sendable, Equatable {
    /// A counter's or gauge's value.
    case scalar(Double)
    /// A histogram's buckets, sum and count.
    case histogram(HistogramSnapshot)
}

/// A histogram series at scrape time.
public struct HistogramSnapshot: Sendable, Equatable {
    /// Upper bounds, ascending, without the implicit `+Inf`.
    public var upperBounds: [Double]
    /// Cumulative counts, one per bound plus the last for `+Inf`.
    public var cumulativeCounts: [UInt64]
    public var sum: Double
    /// The latest exemplar per bucket (same indices as `cumulativeCounts`).
    public var exemplars: [Exemplar?]

    /// The number of observations: the `+Inf` bucket's cumulative count.
    public var count: UInt64 { cumulativeCounts.last ?? 0 }

    public init(
        upperBounds: [Double], cumulativeCounts: [UInt64], sum: Double, exemplars: [Exemplar?]
    ) {
        self.upperBounds = upperBounds
        self.cumulativeCounts = cumulativeCounts
        self.sum = sum
        self.exemplars = exemplars
    }
}
