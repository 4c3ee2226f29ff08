import Synchronization

/// Starts spans, samples them, and sends the recorded ones to a batch span processor.
///
/// Modes:
/// - **Enabled with an exporter** (the normal case): sampled spans record and, once ended,
///   are queued and exported in batches; non-sampled spans get a fresh span id in the
///   parent's trace with the sampled flag clear, record nothing, and still propagate.
/// - **Enabled without an exporter**: ids and the sampled flag are decided as usual, so
///   context propagates faithfully, but no span records anything (there is nowhere to
///   send it); these spans are counted in `notSampled`.
/// - **Disabled** (``disabled``, or `isEnabled == false` / `OTEL_SDK_DISABLED=true`): no
///   span records, no ids are generated and nothing is counted. With a valid parent, the
///   returned span's ``Span/context`` is exactly the parent's context (same span id, flags
///   and tracestate), so whatever is sent onward carries the incoming trace context
///   unchanged. Without a valid parent the context is all-zero (invalid) and should not be
///   propagated.
///
/// Keep the tracer alive while spans end, and call ``shutdown(deadline:)`` before exiting;
/// dropping the last reference stops the export loop and loses what is still queued.
public final class Tracer: Sendable {
    public let configuration: TracingConfiguration
    /// The resource every exported span is reported under.
    public let resource: TracingResource

    private let sampler: any Sampler
    /// The sampler when it is a built-in one, which looks at nothing but the parent and the
    /// trace id (see ``decisionForChild(of:)``).
    private let standardSampler: StandardSampler?
    private let processor: BatchSpanProcessor?
    private let exporter: (any SpanExporter)?
    private let clock: any BusClock
    private let limits: SpanLimits
    private let started = Atomic<Int>(0)
    private let notSampled = Atomic<Int>(0)

    /// A tracer that records nothing and passes parent contexts through unchanged.
    public static let disabled: Tracer = {
        var configuration = TracingConfiguration()
        configuration.isEnabled = false
        return Tracer(configuration: configuration, exporter: nil, logger: .disabled)
    }()

    /// - Parameters:
    ///   - configuration: sampling, batching and resource settings.
    ///   - exporter: where ended spans go; nil records nothing (see the type's modes).
    ///   - clock: span timestamps, the schedule delay and the export timeout use it.
    ///   - logger: dropped and failed spans are logged as warnings.
    public init(
        configuration: TracingConfiguration, exporter: (any SpanExporter)?,
        clock: any BusClock = SystemClock(), logger: Logger = .standardError
    ) {
        self.configuration = configuration
        self.resource = configuration.makeResource()
        self.sampler = configuration.makeSampler()
        self.standardSampler = sampler as? StandardSampler
        self.exporter = exporter
        self.clock = clock
        self.limits = SpanLimits(
            attributes: max(0, configuration.maxAttributesPerSpan),
            events: max(0, configuration.maxEventsPerSpan),
            links: max(0, configuration.maxLinksPerSpan))

        if configuration.isEnabled, let exporter {
            let queueSize = max(1, configuration.maxQueueSize)
            let settings = BatchSpanProcessor.Settings(
                maxQueueSize: queueSize,
                maxExportBatchSize: min(max(1, configuration.maxExportBatchSize), queueSize),
                scheduleDelay: configuration.scheduleDelay,
                exportTimeout: configuration.exportTimeout,
                maxConcurrentExports: max(1, configuration.maxConcurrentExports),
                maxQueueWait: max(.zero, configuration.maxQueueWait))
            processor = BatchSpanProcessor(
                exporter: exporter, resource: resource, settings: settings, clock: clock,
                logger: logger.withComponent("sightline.tracing"))
        } else {
            processor = nil
        }
    }

    deinit {
        processor?.stopLoop()
    }

    public var isEnabled: Bool { configuration.isEnabled }

    /// Starts a span. Never blocks.
    ///
    /// - Parameters:
    ///   - parent: the parent's context; nil or invalid starts a new trace.
    ///   - links: links known at start; the sampler sees them.
    ///   - attributes: attributes known at start; the sampler sees them.
    public func startSpan(
        _ name: String, kind: SpanKind = .internal, parent: SpanContext?,
        links: [SpanLinkData] = [], attributes: SpanAttributes = [:]
    ) -> Span {
        let validParent = parent.flatMap { $0.isValid ? $0 : nil }

        guard isEnabled else {
            let context =
                validParent
                ?? SpanContext(traceID: .invalid, spanID: .invalid, flags: TraceFlags())
            return Span(
                context: context, parentSpanID: nil, name: name, kind: kind, recorder: nil)
        }

        let traceID: TraceID
        let spanID: SpanID
        if let validParent {
            traceID = validParent.traceID
            spanID = RandomIDGenerator.shared.makeSpanID()
        } else {
            (traceID, spanID) = RandomIDGenerator.shared.makeTraceAndSpanID()
        }

        let decision = sampler.shouldSample(
            parent: validParent, traceID: traceID, name: name, kind: kind,
            attributes: attributes, links: links)

        // Flag bits other than sampled are inherited from the parent as received.
        var flags = validParent?.flags ?? TraceFlags()
        if decision == .recordAndSample {
            flags.insert(.sampled)
        } else {
            flags.remove(.sampled)
        }
        let context = SpanContext(
            traceID: traceID, spanID: spanID, flags: flags,
            traceState: validParent?.traceState ?? "", isRemote: false)

        var recorder: SpanRecorder?
        if decision == .recordAndSample, let processor {
            started.add(1, ordering: .relaxed)
            recorder = SpanRecorder(
                sink: processor, clock: clock, limits: limits, attributes: attributes,
                links: links)
        } else {
            notSampled.add(1, ordering: .relaxed)
        }
        return Span(
            context: context, parentSpanID: validParent?.spanID, name: name, kind: kind,
            recorder: recorder)
    }

    /// The sampling decision for a child of a valid `parent`, when it can be known before
    /// the span's attributes and links are built: the built-in samplers decide from the
    /// parent and the trace id alone. nil when the sampler may look at more, or when
    /// tracing is disabled.
    ///
    /// Callers skip building what a dropped span would not record; building a consumer
    /// span's link and its message id attribute was a tenth of the cost of an unsampled
    /// traced delivery in profiles.
    func decisionForChild(of parent: SpanContext) -> SamplingDecision? {
        guard isEnabled, parent.isValid, let standardSampler else { return nil }
        return standardSampler.shouldSample(
            parent: parent, traceID: parent.traceID, name: "", kind: .internal,
            attributes: [:], links: [])
    }

    /// Suspends the calling task (never its thread) while the span queue stands at or above
    /// its high-water mark, three quarters of ``TracingConfiguration/maxQueueSize``, until
    /// exports drain it to half, for at most ``TracingConfiguration/maxQueueWait``.
    ///
    /// For producers that end spans with the synchronous ``Span/end()``: waiting here before
    /// starting work keeps the queue from filling, so those ends are not dropped. Spans can
    /// still be dropped when many tasks end spans at once after the wait; use
    /// ``Span/endWaitingForRoom()`` to wait for the span itself. Returns at once when
    /// tracing is off or there is no exporter.
    ///
    /// - Returns: false when the wait ran out (the exporter is making no room; later calls
    ///   return at once until it has drained the queue to half) or the tracer shut down.
    @discardableResult
    public func waitForQueueRoom() async -> Bool {
        guard let processor else { return true }
        return await processor.waitForRoom()
    }

    /// The counts so far.
    public var statistics: TracerStatistics {
        let counters = processor?.counters() ?? BatchSpanProcessor.Counters()
        return TracerStatistics(
            spansStarted: started.load(ordering: .relaxed), spansEnded: counters.ended,
            exported: counters.exported, dropped: counters.dropped, failed: counters.failed,
            rejected: counters.rejected, queueLength: counters.queueLength,
            notSampled: notSampled.load(ordering: .relaxed), throttled: counters.throttled,
            throttleTimeouts: counters.throttleTimeouts)
    }

    /// Exports every span ended before the call, then flushes the exporter, giving up at
    /// `deadline`. Returns false when the deadline came first.
    @discardableResult
    public func forceFlush(deadline: ContinuousClock.Instant) async -> Bool {
        guard let processor else {
            await exporter?.forceFlush(deadline: deadline)
            return true
        }
        return await processor.forceFlush(deadline: deadline)
    }

    /// Stops accepting spans (later ones are dropped and counted), exports what is queued
    /// until `deadline`, then shuts the exporter down. Later calls do nothing.
    public func shutdown(deadline: ContinuousClock.Instant) async {
        guard let processor else {
            await exporter?.shutdown(deadline: deadline)
            return
        }
        await processor.shutdown(deadline: deadline)
    }
}
