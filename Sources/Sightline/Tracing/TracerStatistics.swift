/// Counts kept by a ``Tracer`` since it was created, for the metrics module to read.
///
/// Every count covers recording (sampled) spans only, except ``notSampled``.
public struct TracerStatistics: Hashable, Sendable {
    /// Recording spans started.
    public var spansStarted: Int
    /// Recording spans ended (the first `end()` of each).
    public var spansEnded: Int
    /// Spans an exporter accepted.
    public var exported: Int
    /// Spans never exported because the queue was full, the tracer was shut down, or the
    /// shutdown deadline came while they were queued (or while their producer waited for
    /// room).
    public var dropped: Int
    /// Spans in export calls that failed or timed out.
    public var failed: Int
    /// Spans the receiver refused in a partial success (retrying cannot help).
    public var rejected: Int
    /// Spans waiting in the queue right now.
    public var queueLength: Int
    /// Spans started but not recorded because the sampler dropped them (or, with no
    /// exporter, because there is nowhere to send them).
    public var notSampled: Int
    /// Span ends (``Span/endWaitingForRoom()``) and ``Tracer/waitForQueueRoom()`` calls that
    /// had to wait for room in the queue.
    public var throttled: Int
    /// Of those, the waits that ran out after ``TracingConfiguration/maxQueueWait``.
    public var throttleTimeouts: Int

    public init(
        spansStarted: Int = 0, spansEnded: Int = 0, exported: Int = 0, dropped: Int = 0,
        failed: Int = 0, rejected: Int = 0, queueLength: Int = 0, notSampled: Int = 0,
        throttled: Int = 0, throttleTimeouts: Int = 0
    ) {
        self.spansStarted = spansStarted
        self.spansEnded = spansEnded
        self.exported = exported
        self.dropped = dropped
        self.failed = failed
        self.rejected = rejected
        self.queueLength = queueLength
        self.notSampled = notSampled
        self.throttled = throttled
        self.throttleTimeouts = throttleTimeouts
    }
}
