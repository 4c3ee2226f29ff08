/// The bus's whole metric set, registered on one registry. A class, so that the many
/// places holding it share one reference instead of copying thirty handles.
///
/// The bus records through the families, caching the handles it looks up, for example
/// `metrics.published.labels(channel, messageType, priority).increment()`. Label values must
/// come from bounded sets (channel names, subscriber groups, message type names, priority
/// names, error kinds); ``attemptLabel(_:)`` bounds retry attempts. Names, help and label
/// names are in ``BusMetricDefinitions``.
public final class BusMetrics: Sendable {
    /// The `messaging_system` label value for Sightline's own metrics.
    public static let messagingSystem = "sightline"

    public let registry: MetricsRegistry

    // OpenTelemetry messaging metrics.
    public let clientSentMessages: CounterFamily
    public let clientConsumedMessages: CounterFamily
    public let clientOperationDuration: HistogramFamily
    public let processDuration: HistogramFamily

    // Messages.
    public let published: CounterFamily
    public let delivered: CounterFamily
    public let acknowledged: CounterFamily
    public let failed: CounterFamily
    public let retries: CounterFamily
    public let deadLettered: CounterFamily
    public let deadLetterDepth: GaugeFamily
    public let redriven: CounterFamily
    public let deduplicated: CounterFamily

    // Lag and queues.
    public let consumerLagMessages: GaugeFamily
    public let consumerLagSeconds: GaugeFamily
    public let queueDepth: GaugeFamily
    public let queueCapacity: GaugeFamily
    public let handlersInFlight: GaugeFamily

    // Back-pressure.
    public let publishThrottled: CounterFamily
    public let publishThrottleDelay: HistogramFamily
    public let shed: CounterFamily
    public let backPressurePressure: GaugeFamily
    public let backPressureAdmittedRate: GaugeFamily

    // Span exporter.
    public let exporterSpansExported: CounterFamily
    public let exporterSpansDropped: CounterFamily
    public let exporterSpansFailed: CounterFamily
    public let exporterSpansRejected: CounterFamily
    public let exporterQueueLength: GaugeFamily
    public let exporterProducerWaits: CounterFamily
    public let exporterProducerWaitTimeouts: CounterFamily

    public let buildInfo: GaugeFamily

    /// Registers every family (or finds them, when this registry already has them) and sets
    /// `sightline_build_info{version}` to 1.
    ///
    /// - Throws: ``MetricsRegistrationError`` when the registry already holds a family of one
    ///   of these names with another shape.
    public init(registry: MetricsRegistry) throws(MetricsRegistrationError) {
        typealias Names = BusMetricDefinitions
        self.registry = registry

        func counter(_ definition: MetricDefinition) throws(MetricsRegistrationError)
            -> CounterFamily
        {
            try registry.counter(
                name: definition.name, help: definition.help, labelNames: definition.labelNames)
        }
        func gauge(_ definition: MetricDefinition) throws(MetricsRegistrationError)
            -> GaugeFamily
        {
            try registry.gauge(
                name: definition.name, help: definition.help, labelNames: definition.labelNames)
        }
        func histogram(
            _ definition: MetricDefinition, _ buckets: [Double]
        ) throws(MetricsRegistrationError) -> HistogramFamily {
            try registry.histogram(
                name: definition.name, help: definition.help, labelNames: definition.labelNames,
                buckets: buckets)
        }

        clientSentMessages = try counter(Names.clientSentMessages)
        clientConsumedMessages = try counter(Names.clientConsumedMessages)
        clientOperationDuration = try histogram(
            Names.clientOperationDuration, Names.durationBuckets)
        processDuration = try histogram(Names.processDuration, Names.durationBuckets)

        published = try counter(Names.published)
        delivered = try counter(Names.delivered)
        acknowledged = try counter(Names.acknowledged)
        failed = try counter(Names.failed)
        retries = try counter(Names.retries)
        deadLettered = try counter(Names.deadLettered)
        deadLetterDepth = try gauge(Names.deadLetterDepth)
        redriven = try counter(Names.redriven)
        deduplicated = try counter(Names.deduplicated)

        consumerLagMessages = try gauge(Names.consumerLagMessages)
        consumerLagSeconds = try gauge(Names.consumerLagSeconds)
        queueDepth = try gauge(Names.queueDepth)
        queueCapacity = try gauge(Names.queueCapacity)
        handlersInFlight = try gauge(Names.handlersInFlight)

        publishThrottled = try counter(Names.publishThrottled)
        publishThrottleDelay = try histogram(
            Names.publishThrottleDelay, Names.throttleDelayBuckets)
        shed = try counter(Names.shed)
        backPressurePressure = try gauge(Names.backPressurePressure)
        backPressureAdmittedRate = try gauge(Names.backPressureAdmittedRate)

        exporterSpansExported = try counter(Names.exporterSpansExported)
        exporterSpansDropped = try counter(Names.exporterSpansDropped)
        exporterSpansFailed = try counter(Names.exporterSpansFailed)
        exporterSpansRejected = try counter(Names.exporterSpansRejected)
        exporterQueueLength = try gauge(Names.exporterQueueLength)
        exporterProducerWaits = try counter(Names.exporterProducerWaits)
        exporterProducerWaitTimeouts = try counter(Names.exporterProducerWaitTimeouts)

        buildInfo = try gauge(Names.buildInfo)
        buildInfo.labels(SightlineVersion.current).set(1)
    }

    /// Every definition the set registers, in registration order.
    public static let definitions: [MetricDefinition] = {
        typealias Names = BusMetricDefinitions
        return [
            Names.clientSentMessages, Names.clientConsumedMessages,
            Names.clientOperationDuration, Names.processDuration,
            Names.published, Names.delivered, Names.acknowledged, Names.failed, Names.retries,
            Names.deadLettered, Names.deadLetterDepth, Names.redriven, Names.deduplicated,
            Names.consumerLagMessages, Names.consumerLagSeconds, Names.queueDepth,
            Names.queueCapacity, Names.handlersInFlight,
            Names.publishThrottled, Names.publishThrottleDelay, Names.shed,
            Names.backPressurePressure, Names.backPressureAdmittedRate,
            Names.exporterSpansExported, Names.exporterSpansDropped, Names.exporterSpansFailed,
            Names.exporterSpansRejected, Names.exporterQueueLength, Names.exporterProducerWaits,
            Names.exporterProducerWaitTimeouts,
            Names.buildInfo,
        ]
    }()

    private static let attemptLabels = (1...9).map(String.init) + ["10+"]

    /// The bounded `attempt` label value: "1" to "9", then "10+" for every later attempt
    /// (and "1" for anything below 1).
    public static func attemptLabel(_ attempt: Int) -> String {
        attemptLabels[min(max(attempt, 1), 10) - 1]
    }
}
