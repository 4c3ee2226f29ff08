/// The name, help text and label names of one metric family, so that the definitions of
/// the bus's metric set can live in one table.
public struct MetricDefinition: Sendable, Hashable {
    public var name: String
    public var help: String
    public var labelNames: [String]

    public init(_ name: String, _ help: String, _ labelNames: [String] = []) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }
}

/// Every metric family the bus records: names in base units with `_total` on counters.
///
/// The `messaging_*` families are the OpenTelemetry messaging metrics under their Prometheus
/// names, with the semantic conventions' attributes as labels (dots become underscores).
/// `error_type` is the empty string (no label) for operations that succeeded.
public enum BusMetricDefinitions {
    static let destination = "messaging_destination_name"
    static let consumerGroup = "messaging_consumer_group_name"

    // MARK: OpenTelemetry messaging metrics

    public static let clientSentMessages = MetricDefinition(
        "messaging_client_sent_messages_total",
        "Messages a producer attempted to send.",
        ["messaging_system", "messaging_operation_name", destination, "error_type"])
    public static let clientConsumedMessages = MetricDefinition(
        "messaging_client_consumed_messages_total",
        "Messages delivered to a consumer.",
        ["messaging_system", "messaging_operation_name", destination, consumerGroup, "error_type"])
    public static let clientOperationDuration = MetricDefinition(
        "messaging_client_operation_duration_seconds",
        "Duration of messaging operations initiated by a producer or consumer client.",
        ["messaging_system", "messaging_operation_name", destination, consumerGroup, "error_type"])
    public static let processDuration = MetricDefinition(
        "messaging_process_duration_seconds",
        "Duration of processing operations (handler runs).",
        ["messaging_system", "messaging_operation_name", destination, consumerGroup, "error_type"])

    // MARK: Messages

    public static let published = MetricDefinition(
        "sightline_messages_published_total", "Messages admitted for publishing.",
        ["channel", "message_type", "priority"])
    public static let delivered = MetricDefinition(
        "sightline_messages_delivered_total", "Deliveries handed to a handler, retries included.",
        ["channel", "group"])
    public static let acknowledged = MetricDefinition(
        "sightline_messages_acknowledged_total", "Deliveries whose handler succeeded.",
        ["channel", "group"])
    public static let failed = MetricDefinition(
        "sightline_messages_failed_total", "Deliveries whose handler failed.",
        ["channel", "group", "error_type"])
    public static let retries = MetricDefinition(
        "sightline_retries_total",
        "Redeliveries scheduled after a failure, by attempt number (1 to 9, then 10+).",
        ["channel", "group", "attempt"])
    public static let deadLettered = MetricDefinition(
        "sightline_dead_lettered_total", "Messages moved to the dead-letter store.",
        ["channel", "group", "reason"])
    public static let deadLetterDepth = MetricDefinition(
        "sightline_dead_letter_depth", "Messages currently held in the dead-letter store.")
    public static let redriven = MetricDefinition(
        "sightline_redriven_total", "Dead letters sent back for delivery.", ["channel", "group"])
    public static let deduplicated = MetricDefinition(
        "sightline_deduplicated_total",
        "Deliveries skipped because the message was already processed.", ["channel", "group"])

    // MARK: Lag and queues

    public static let consumerLagMessages = MetricDefinition(
        "sightline_consumer_lag_messages", "Messages waiting for a subscriber group.",
        ["channel", "group"])
    public static let consumerLagSeconds = MetricDefinition(
        "sightline_consumer_lag_seconds", "Age of the oldest message waiting for a group.",
        ["channel", "group"])
    public static let queueDepth = MetricDefinition(
        "sightline_queue_depth", "Messages in a subscriber group's bounded queue.",
        ["channel", "group"])
    public static let queueCapacity = MetricDefinition(
        "sightline_queue_capacity", "Capacity of a subscriber group's bounded queue.",
        ["channel", "group"])
    public static let handlersInFlight = MetricDefinition(
        "sightline_handlers_in_flight", "Handler invocations currently running.",
        ["channel", "group"])

    // MARK: Back-pressure

    public static let publishThrottled = MetricDefinition(
        "sightline_publish_throttled_total", "Publishes delayed by admission control.",
        ["channel", "priority"])
    public static let publishThrottleDelay = MetricDefinition(
        "sightline_publish_throttle_delay_seconds", "Delay imposed on throttled publishes.",
        ["channel", "priority"])
    public static let shed = MetricDefinition(
        "sightline_shed_total", "Publishes refused by admission control.",
        ["channel", "priority"])
    public static let backPressurePressure = MetricDefinition(
        "sightline_backpressure_pressure",
        "Pressure the admission controller sees on a channel, from 0 (idle) to 1 (saturated).",
        ["channel"])
    public static let backPressureAdmittedRate = MetricDefinition(
        "sightline_backpressure_admitted_rate",
        "Publishes per second the admission controller currently admits.",
        ["channel", "priority"])

    // MARK: Span exporter

    public static let exporterSpansExported = MetricDefinition(
        "sightline_exporter_spans_exported_total", "Spans the collector accepted.")
    public static let exporterSpansDropped = MetricDefinition(
        "sightline_exporter_spans_dropped_total", "Spans dropped because the queue was full.")
    public static let exporterSpansFailed = MetricDefinition(
        "sightline_exporter_spans_failed_total", "Spans lost to failed export requests.")
    public static let exporterSpansRejected = MetricDefinition(
        "sightline_exporter_spans_rejected_total",
        "Spans the collector reported as rejected (partial success).")
    public static let exporterQueueLength = MetricDefinition(
        "sightline_exporter_queue_length", "Spans waiting in the exporter's queue.")
    public static let exporterProducerWaits = MetricDefinition(
        "sightline_exporter_producer_waits_total",
        "Span ends that waited for room in a nearly full queue (publishers slowed by tracing).")
    public static let exporterProducerWaitTimeouts = MetricDefinition(
        "sightline_exporter_producer_wait_timeouts_total",
        "Waits for room in the span queue that ran out before the exporter made room.")

    // MARK: Build

    public static let buildInfo = MetricDefinition(
        "sightline_build_info", "Always 1; the version label names the Sightline build.",
        ["version"])

    /// The bucket bounds the messaging semantic conventions give for durations, in seconds.
    public static let durationBuckets: [Double] = [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]

    /// Bucket bounds for throttle delays, in seconds.
    public static let throttleDelayBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
}
