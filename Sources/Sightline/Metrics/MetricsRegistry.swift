import Synchronization

/// Holds metric families and produces snapshots of them for exposition.
///
/// Registration and the first lookup of a label set take locks; recording through a cached
/// ``Counter``, ``Gauge`` or ``Histogram`` handle takes none, so publishers never contend on
/// a lock shared by all of them. ``collect()`` reads the handles' atomics and so never waits
/// for a publisher either.
///
/// Each family keeps at most ``cardinalityLimit`` series. A new label set beyond that folds
/// into one overflow series whose label values are all ``overflowLabelValue`` and increments
/// `sightline_metrics_overflow_total{family="<name>"}`, so that a label fed from unbounded
/// input cannot grow memory without end.
public final class MetricsRegistry: Sendable {
    /// The default per-family series limit.
    public static let defaultCardinalityLimit = 1000
    /// The label value of every label of a family's overflow series.
    public static let overflowLabelValue = "__overflow__"
    /// The name of the counter of label sets folded into overflow series.
    public static let overflowCounterName = "sightline_metrics_overflow_total"

    private enum Family: Sendable {
        case counter(CounterFamily)
        case gauge(GaugeFamily)
        case histogram(HistogramFamily)

        func snapshot() -> MetricFamilySnapshot {
            switch self {
            case .counter(let family): family.snapshot()
            case .gauge(let family): family.snapshot()
            case .histogram(let family): family.snapshot()
            }
        }

        var counterFamily: CounterFamily? {
            if case .counter(let family) = self { family } else { nil }
        }

        var gaugeFamily: GaugeFamily? {
            if case .gauge(let family) = self { family } else { nil }
        }

        var histogramFamily: HistogramFamily? {
            if case .histogram(let family) = self { family } else { nil }
        }
    }

    private struct State {
        var families: [String: Family] = [:]
        var order: [String] = []
        var hooks: [@Sendable () -> Void] = []
    }

    /// The series limit applied to every family.
    public let cardinalityLimit: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let overflow: CounterFamily

    /// - Parameters:
    ///   - cardinalityLimit: series per family before new label sets fold into the overflow
    ///     series; at least 1.
    ///   - logger: receives a warning when a family is used with the wrong number of labels.
    public init(
        cardinalityLimit: Int = MetricsRegistry.defaultCardinalityLimit,
        logger: Logger = .disabled
    ) {
        self.cardinalityLimit = max(1, cardinalityLimit)
        self.logger = logger.withComponent("sightline.metrics")

        // The overflow counter has one series per family, and families are few and fixed
        // by code, so it needs no limit of its own.
        let name = Self.overflowCounterName
        overflow = CounterFamily(
            name: name,
            help: "Label sets folded into a family's overflow series by the cardinality limit.",
            labelNames: ["family"],
            table: SeriesTable(
                familyName: name, labelNames: ["family"], cardinalityLimit: Int.max,
                logger: self.logger, makeHandle: { Counter() }, onOverflow: {}))
        state.withLock { state in
            state.families[name] = .counter(overflow)
            state.order.append(name)
        }
    }

    /// Registers a counter family, or returns the one already registered with the same
    /// name and label names.
    ///
    /// - Parameters:
    ///   - name: must end in `_total` (OpenMetrics exposes the family without it).
    ///   - help: one line saying what is counted.
    ///   - labelNames: the labels every series carries, in the order `labels(_:)` takes.
    /// - Throws: ``MetricsRegistrationError`` for an invalid name or a conflicting family.
    public func counter(
        name: String, help: String, labelNames: [String] = []
    ) throws(MetricsRegistrationError) -> CounterFamily {
        try Self.validate(name: name, labelNames: labelNames, type: .counter)

        return try register(name: name) { table in
            .counter(
                CounterFamily(
                    name: name, help: help, labelNames: labelNames,
                    table: table(labelNames) { Counter() }))
        } matches: { existing in
            guard case .counter(let family) = existing else { return false }
            return family.labelNames == labelNames
        }
        .counterFamily!
    }

    /// Registers a gauge family, or returns the one already registered with the same name
    /// and label names.
    ///
    /// - Throws: ``MetricsRegistrationError`` for an invalid name or a conflicting family.
    public func gauge(
        name: String, help: String, labelNames: [String] = []
    ) throws(MetricsRegistrationError) -> GaugeFamily {
        try Self.validate(name: name, labelNames: labelNames, type: .gauge)

        return try register(name: name) { table in
            .gauge(
                GaugeFamily(
                    name: name, help: help, labelNames: labelNames,
                    table: table(labelNames) { Gauge() }))
        } matches: { existing in
            guard case .gauge(let family) = existing else { return false }
            return family.labelNames == labelNames
        }
        .gaugeFamily!
    }

    /// Registers a histogram family, or returns the one already registered with the same
    /// name, label names and buckets.
    ///
    /// - Parameters:
    ///   - buckets: finite upper bounds in strictly ascending order; `+Inf` is implicit (a
    ///     trailing `+Inf` is accepted and dropped).
    /// - Throws: ``MetricsRegistrationError`` for an invalid name or buckets, the label name
    ///   `le`, or a conflicting family.
    public func histogram(
        name: String, help: String, labelNames: [String] = [], buckets: [Double]
    ) throws(MetricsRegistrationError) -> HistogramFamily {
        try Self.validate(name: name, labelNames: labelNames, type: .histogram)
        var bounds = buckets
        if bounds.last == .infinity { bounds.removeLast() }
        try Self.validate(buckets: bounds, name: name)
        let upperBounds = bounds

        return try register(name: name) { table in
            .histogram(
                HistogramFamily(
                    name: name, help: help, labelNames: labelNames, buckets: upperBounds,
                    table: table(labelNames) { Histogram(upperBounds: upperBounds) }))
        } matches: { existing in
            guard case .histogram(let family) = existing else { return false }
            return family.labelNames == labelNames && family.buckets == upperBounds
        }
        .histogramFamily!
    }

    /// Registers an unlabelled gauge whose value `read` computes at every ``collect()``.
    ///
    /// `read` runs on the scraping thread; it must be quick and must not block.
    /// - Throws: ``MetricsRegistrationError`` as ``gauge(name:help:labelNames:)`` does.
    public func gaugeFunction(
        name: String, help: String, _ read: @escaping @Sendable () -> Double
    ) throws(MetricsRegistrationError) {
        let gauge = try gauge(name: name, help: help).labels()
        addCollectHook { gauge.set(read()) }
    }

    /// Adds work to run at the start of every ``collect()``, such as setting gauges from a
    /// queue's current depth. Hooks run in the order added, on the scraping thread, without
    /// any registry lock held; they must be quick and must not block.
    public func addCollectHook(_ hook: @escaping @Sendable () -> Void) {
        state.withLock { $0.hooks.append(hook) }
    }

    /// Runs the collect hooks, then copies every family in registration order.
    public func collect() -> [MetricFamilySnapshot] {
        let hooks = state.withLock { $0.hooks }
        for hook in hooks { hook() }

        let families = state.withLock { state in state.order.compactMap { state.families[$0] } }
        return families.map { $0.snapshot() }
    }

    // MARK: - Registration

    private func register(
        name: String,
        make: (_ table: TableFactory) -> Family,
        matches: (Family) -> Bool
    ) throws(MetricsRegistrationError) -> Family {
        let factory = TableFactory(
            familyName: name, limit: cardinalityLimit, logger: logger, overflow: overflow)

        let result: Result<Family, MetricsRegistrationError> = state.withLock { state in
            if let existing = state.families[name] {
                guard matches(existing) else {
                    return .failure(
                        MetricsRegistrationError(
                            code: .conflictingRegistration, metricName: name,
                            message: "already registered with another type, labels or buckets"
                        ))
                }
                return .success(existing)
            }
            let family = make(factory)
            state.families[name] = family
            state.order.append(name)
            return .success(family)
        }
        return try result.get()
    }

    /// Builds a family's series table wired to the registry's overflow counter.
    private struct TableFactory {
        let familyName: String
        let limit: Int
        let logger: Logger
        let overflow: CounterFamily

        func callAsFunction<Handle: AnyObject & Sendable>(
            _ labelNames: [String], _ makeHandle: @escaping @Sendable () -> Handle
        ) -> SeriesTable<Handle> {
            let overflow = overflow
            let familyName = familyName
            return SeriesTable(
                familyName: familyName, labelNames: labelNames, cardinalityLimit: limit,
                logger: logger, makeHandle: makeHandle,
                onOverflow: { overflow.labels(familyName).increment() })
        }
    }
}
