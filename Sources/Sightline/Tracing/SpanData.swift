/// A typed attribute value, as OpenTelemetry's `AnyValue` allows for span attributes.
public enum AttributeValue: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case stringArray([String])
}

/// Span attributes keyed by their semantic-convention names.
public typealias SpanAttributes = [String: AttributeValue]

/// The role a span plays, with the same meanings as OpenTelemetry's `SpanKind`.
public enum SpanKind: Int, Hashable, Sendable {
    case `internal` = 1
    case server = 2
    case client = 3
    case producer = 4
    case consumer = 5
}

/// The identity of a span as it travels between processes.
public struct SpanContext: Hashable, Sendable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var flags: TraceFlags
    /// The `tracestate` header value as it should be propagated (already validated).
    public var traceState: String
    /// True when the context was received from another process or envelope.
    public var isRemote: Bool

    public init(
        traceID: TraceID, spanID: SpanID, flags: TraceFlags, traceState: String = "",
        isRemote: Bool = false
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
        self.traceState = traceState
        self.isRemote = isRemote
    }

    public var isValid: Bool { traceID.isValid && spanID.isValid }
}

/// A timestamped annotation on a span (a retry scheduled, a dead letter, a shed decision).
public struct SpanEvent: Hashable, Sendable {
    public var name: String
    public var timeUnixNano: UInt64
    public var attributes: SpanAttributes

    public init(name: String, timeUnixNano: UInt64, attributes: SpanAttributes = [:]) {
        self.name = name
        self.timeUnixNano = timeUnixNano
        self.attributes = attributes
    }
}

/// A link from a span to another span's context, with attributes saying why.
public struct SpanLinkData: Hashable, Sendable {
    public var context: SpanContext
    public var attributes: SpanAttributes

    public init(context: SpanContext, attributes: SpanAttributes = [:]) {
        self.context = context
        self.attributes = attributes
    }
}

/// How a span ended.
public enum SpanStatus: Hashable, Sendable {
    case unset
    case ok
    case error(description: String)
}

/// A finished span: everything an exporter needs and nothing it must compute.
public struct SpanData: Hashable, Sendable {
    public var context: SpanContext
    /// The parent's span id, or nil for a root span.
    public var parentSpanID: SpanID?
    public var name: String
    public var kind: SpanKind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: SpanAttributes
    public var events: [SpanEvent]
    public var links: [SpanLinkData]
    public var status: SpanStatus

    public init(
        context: SpanContext, parentSpanID: SpanID?, name: String, kind: SpanKind,
        startTimeUnixNano: UInt64, endTimeUnixNano: UInt64, attributes: SpanAttributes = [:],
        events: [SpanEvent] = [], links: [SpanLinkData] = [], status: SpanStatus = .unset
    ) {
        self.context = context
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.events = events
        self.links = links
        self.status = status
    }
}

/// The entity producing spans (`service.name` and friends) and the library that made them.
public struct TracingResource: Hashable, Sendable {
    public var attributes: SpanAttributes
    public var scopeName: String
    public var scopeVersion: String

    public init(
        attributes: SpanAttributes, scopeName: String = "sightline",
        scopeVersion: String = SightlineVersion.current
    ) {
        self.attributes = attributes
        self.scopeName = scopeName
        self.scopeVersion = scopeVersion
    }
}

/// What became of one export call.
public enum SpanExportResult: Hashable, Sendable {
    /// Every span was accepted (or `rejected` of them were refused by the receiver's
    /// `partial_success`, which retrying cannot fix).
    case success(rejected: Int)
    /// The batch was not delivered and will not be retried any more.
    case failure(reason: String)
}

/// Receives finished spans in batches and delivers them somewhere.
///
/// Implementations MUST NOT block the caller's thread on network I/O for long: the batch
/// span processor calls `export` from its own task and applies the configured timeout.
public protocol SpanExporter: Sendable {
    func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult

    /// Delivers anything buffered, giving up at `deadline`.
    func forceFlush(deadline: ContinuousClock.Instant) async

    /// Flushes and releases resources; later exports fail.
    func shutdown(deadline: ContinuousClock.Instant) async
}
