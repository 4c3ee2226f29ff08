import Synchronization

/// One operation in a trace, from ``Tracer/startSpan(_:kind:parent:links:attributes:)`` to
/// ``end()``.
///
/// A span is safe to use from any thread. A recording span keeps its attributes, events,
/// links and status behind a `Mutex` until ``end()``, which hands the finished
/// ``SpanData`` to the tracer's batch processor without waiting. A non-recording span (not
/// sampled, or tracing disabled) holds only its context: every mutating call on it does
/// nothing, and its context still propagates (with the sampled flag clear).
public final class Span: Sendable {
    /// The identity to propagate to children and other processes.
    public let context: SpanContext

    /// The parent's span id, or nil for a root span.
    public let parentSpanID: SpanID?

    public let name: String
    public let kind: SpanKind

    private let recorder: SpanRecorder?

    init(
        context: SpanContext, parentSpanID: SpanID?, name: String, kind: SpanKind,
        recorder: SpanRecorder?
    ) {
        self.context = context
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.recorder = recorder
    }

    /// True while the span records what is set on it: sampled and not yet ended.
    public var isRecording: Bool { recorder?.isOpen ?? false }

    /// Sets (or replaces) one attribute. Beyond the per-span limit, new keys are dropped.
    public func setAttribute(_ key: String, _ value: AttributeValue) {
        recorder?.setAttribute(key, value)
    }

    /// Adds a timestamped event. Beyond the per-span limit, events are dropped.
    public func addEvent(_ name: String, attributes: SpanAttributes = [:]) {
        recorder?.addEvent(name, attributes: attributes)
    }

    /// Adds a link to another span's context. Beyond the per-span limit, links are dropped.
    public func addLink(_ link: SpanLinkData) {
        recorder?.addLink(link)
    }

    /// Sets the status. As OpenTelemetry specifies, `.unset` is ignored, and once the status
    /// is `.ok` it no longer changes.
    public func setStatus(_ status: SpanStatus) {
        recorder?.setStatus(status)
    }

    /// Marks the span failed: status `.error(description:)` and attribute `error.type`.
    public func recordError(type: String, description: String) {
        recorder?.setAttribute("error.type", .string(type))
        recorder?.setStatus(.error(description: description))
    }

    /// Ends the span. Only the first call counts; later calls and calls on non-recording
    /// spans do nothing. Never blocks or waits: the finished span is queued for export, or
    /// dropped and counted when the queue is full. Async code should prefer
    /// ``endWaitingForRoom()``, which waits for room instead of dropping.
    public func end() {
        guard let recorder, let data = recorder.finish(span: self) else { return }
        recorder.sink.spanEnded(data)
    }

    /// Ends the span like ``end()``, applying back-pressure instead of dropping: while the
    /// tracer's span queue stands at or above its high-water mark (three quarters of
    /// ``TracingConfiguration/maxQueueSize``), or other producers already wait, the calling
    /// task is suspended, never its thread, until exports drain the queue to half; waiters
    /// go in first come, first served.
    ///
    /// The end time is taken before any wait. A wait lasts at most
    /// ``TracingConfiguration/maxQueueWait``; when it runs out, the span is queued if the
    /// queue has room, else dropped and counted, and later calls do not wait until exports
    /// have drained the queue to half, so a collector that stopped answering stalls the
    /// caller once, for at most that long. Waits are counted in
    /// ``TracerStatistics/throttled``.
    public func endWaitingForRoom() async {
        guard let recorder, let data = recorder.finish(span: self) else { return }
        guard !recorder.sink.spanEndedUnlessWaiting(data) else { return }
        await recorder.sink.waitForRoom(queueing: data)
    }
}
