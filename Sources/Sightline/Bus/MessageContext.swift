/// What a handler knows about the delivery it is handling.
///
/// While a handler runs, ``current`` holds its context, so that messages it publishes or
/// sends carry the handled message's id as their causation id, its correlation id, and its
/// trace context.
public struct MessageContext: Sendable {
    /// The delivered envelope (payload included).
    public let envelope: Envelope
    /// The subscriber group handling it.
    public let group: String
    /// The context of the processing span; messages the handler publishes are its children.
    public let spanContext: SpanContext?
    /// The CONSUMER span of the attempt, for the bus's contract annotations.
    var processingSpan: Span?

    public init(envelope: Envelope, group: String, spanContext: SpanContext? = nil) {
        self.envelope = envelope
        self.group = group
        self.spanContext = spanContext
    }

    public var messageID: MessageID { envelope.id }
    public var correlationID: String { envelope.correlationID }
    /// 1 for the first delivery, counting up with each retry.
    public var attempt: Int { envelope.attempt }

    /// The context of the handler running in this task, if any.
    @TaskLocal public static var current: MessageContext?
}

/// What became of a bus's shutdown.
public struct ShutdownReport: Hashable, Sendable {
    /// True when every queue drained before the deadline.
    public var drained: Bool
    /// Messages still held per subscriber group when the bus stopped.
    public var unfinished: [GroupKey: Int]
    /// Requests still waiting for a reply; they fail with `shuttingDown`.
    public var abandonedRequests: Int

    public var unfinishedCount: Int { unfinished.values.reduce(0, +) }
}
