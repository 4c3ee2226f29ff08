/// A counter family: one ``Counter`` per set of label values.
public final class CounterFamily: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    let table: SeriesTable<Counter>

    init(name: String, help: String, labelNames: [String], table: SeriesTable<Counter>) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.table = table
    }

    /// The series for these label values, in ``labelNames`` order. Cache the result: the
    /// lookup takes the family's lock, recording through the handle does not.
    public func labels(_ values: String...) -> Counter {
        table.handle(for: values)
    }

    /// The series for these label values, in ``labelNames`` order.
    public func labels(_ values: [String]) -> Counter {
        table.handle(for: values)
    }

    func snapshot() -> MetricFamilySnapshot {
        MetricFamilySnapshot(
            name: name, help: help, type: .counter, labelNames: labelNames,
            series: table.allSeries().map {
                MetricSeriesSnapshot(labelValues: $0.labelValues, value: .scalar($0.handle.value))
            })
    }
}

/// A gauge family: one ``Gauge`` per set of label values.
public final class GaugeFamily: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    let table: SeriesTable<Gauge>

    init(name: String, help: String, labelNames: [String], table: SeriesTable<Gauge>) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.table = table
    }

    /// The series for these label values, in ``labelNames`` order. Cache the result.
    public func labels(_ values: String...) -> Gauge {
        table.handle(for: values)
    }

    /// The series for these label values, in ``labelNames`` order.
    public func labels(_ values: [String]) -> Gauge {
        table.handle(for: values)
    }

    func snapshot() -> MetricFamilySnapshot {
        MetricFamilySnapshot(
            name: name, help: help, type: .gauge, labelNames: labelNames,
            series: table.allSeries().map {
                MetricSeriesSnapshot(labelValues: $0.labelValues, value: .scalar($0.handle.value))
            })
    }
}

/// A histogram family: one ``Histogram`` per set of label values, all with the same buckets.
public final class HistogramFamily: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    /// Upper bounds, ascending, without the implicit `+Inf`.
    public let buckets: [Double]
    let table: SeriesTable<Histogram>

    init(
        name: String, help: String, labelNames: [String], buckets: [Double],
        table: SeriesTable<Histogram>
    ) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.buckets = buckets
        self.table = table
    }

    /// The series for these label values, in ``labelNames`` order. Cache the result.
    public func labels(_ values: String...) -> Histogram {
        table.handle(for: values)
    }

    /// The series for these label values, in ``labelNames`` order.
    public func labels(_ values: [String]) -> Histogram {
        table.handle(for: values)
    }

    func snapshot() -> MetricFamilySnapshot {
        MetricFamilySnapshot(
            name: name, help: help, type: .histogram, labelNames: labelNames,
            series: table.allSeries().map {
                MetricSeriesSnapshot(
                    labelValues: $0.labelValues, value: .histogram($0.handle.snapshot()))
            })
    }
}
