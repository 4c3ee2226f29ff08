import Foundation

/// Everything a ``Tracer`` needs to know, as a value.
///
/// Each property names the OpenTelemetry environment variable that sets it and its default;
/// ``fromEnvironment(_:logger:)`` applies those variables.
public struct TracingConfiguration: Sendable {
    /// `OTEL_SDK_DISABLED` (inverted). Default true. When false the tracer records nothing
    /// but still propagates a parent's context; see ``Tracer``.
    public var isEnabled: Bool = true

    /// `OTEL_SERVICE_NAME`. Default nil: `service.name` then comes from
    /// ``resourceAttributes``, or else is `unknown_service:<executableName>`.
    public var serviceName: String?

    /// `OTEL_RESOURCE_ATTRIBUTES`, already percent-decoded. Default empty.
    public var resourceAttributes: [String: String] = [:]

    /// The process's executable name, used only in the fallback `service.name`
    /// (`unknown_service:<name>`, as the OpenTelemetry resource conventions ask).
    /// Default: the running process's name.
    public var executableName: String = ProcessInfo.processInfo.processName

    /// `OTEL_TRACES_SAMPLER`. Default `parentbased_always_on`.
    public var sampler: SamplerKind = .parentBasedAlwaysOn

    /// `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers, in [0, 1]. Default 1.0.
    public var samplerRatio: Double = 1.0

    /// A sampler of the service's own; when set it replaces ``sampler`` and
    /// ``samplerRatio``. Default nil. Not settable from the environment.
    public var customSampler: (any Sampler)?

    /// `OTEL_BSP_MAX_QUEUE_SIZE`: ended spans waiting for export; more are dropped and
    /// counted. Default 2048.
    public var maxQueueSize: Int = 2048

    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans per export call, at most ``maxQueueSize``.
    /// Default 512.
    public var maxExportBatchSize: Int = 512

    /// `OTEL_BSP_SCHEDULE_DELAY` (milliseconds): the longest a span waits in the queue
    /// before an export starts, when the queue holds less than a batch. Default 5 s.
    public var scheduleDelay: Duration = .milliseconds(5000)

    /// Export calls that may run at once. While one batch travels to the collector, the
    /// next can already leave the queue, so a collector's round trip no longer stalls the
    /// queue; memory stays bounded by this many batches beyond ``maxQueueSize``. 1 gives
    /// OpenTelemetry's one-export-at-a-time behaviour. Default 4. Not read from the
    /// environment.
    public var maxConcurrentExports: Int = 4

    /// `SIGHTLINE_BSP_MAX_QUEUE_WAIT` (milliseconds): the longest a producer waits for room
    /// in the span queue in ``Span/endWaitingForRoom()`` and ``Tracer/waitForQueueRoom()``
    /// (waiting starts at three quarters of ``maxQueueSize`` and ends at half). After it the
    /// span is queued if it fits, else dropped and counted, and nobody waits again until the
    /// exporter has drained the queue to half, so a collector that stopped answering stalls
    /// producers once at most. Zero turns waiting off: those calls then behave like
    /// ``Span/end()``. Default 1 s.
    public var maxQueueWait: Duration = .seconds(1)

    /// `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds): how long one export call may take before
    /// it is abandoned and its spans counted as failed. Default 30 s.
    public var exportTimeout: Duration = .milliseconds(30000)

    // Not yet: OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT,
    // OTEL_SPAN_LINK_COUNT_LIMIT and attribute value length limits are not read from the
    // environment; only the defaults below (or values set in code) apply.

    /// Attributes kept per span; more are dropped. Default 128 (the OpenTelemetry default
    /// of `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, which is not read from the environment yet).
    public var maxAttributesPerSpan: Int = 128

    /// Events kept per span; more are dropped. Default 128.
    public var maxEventsPerSpan: Int = 128

    /// Links kept per span; more are dropped. Default 128.
    public var maxLinksPerSpan: Int = 128

    /// Where and how the OTLP exporter sends spans.
    public var otlp = OTLPSettings()

    /// The defaults listed on each property.
    public init() {}

    /// The sampler the tracer uses: ``customSampler`` when set, else the standard one.
    public func makeSampler() -> any Sampler {
        customSampler ?? StandardSampler(kind: sampler, ratio: samplerRatio)
    }

    /// The resource every span is reported under.
    ///
    /// `service.name` is ``serviceName`` when set, else the one in ``resourceAttributes``,
    /// else `unknown_service:<executableName>`. The `telemetry.sdk.*` attributes always
    /// describe Sightline and cannot be overridden.
    public func makeResource() -> TracingResource {
        var attributes: SpanAttributes = [:]
        for (key, value) in resourceAttributes { attributes[key] = .string(value) }

        if let serviceName, !serviceName.isEmpty {
            attributes["service.name"] = .string(serviceName)
        } else if attributes["service.name"] == nil {
            let fallback =
                executableName.isEmpty ? "unknown_service" : "unknown_service:\(executableName)"
            attributes["service.name"] = .string(fallback)
        }

        attributes["telemetry.sdk.name"] = .string("sightline")
        attributes["telemetry.sdk.language"] = .string("swift")
        attributes["telemetry.sdk.version"] = .string(SightlineVersion.current)
        return TracingResource(attributes: attributes)
    }
}
