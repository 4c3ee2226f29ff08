/// Everything a ``Bus`` is built from. Each property has a default suited to one process.
public struct BusConfiguration: Sendable {
    /// Moves envelopes to subscriber groups. Default: ``InMemoryTransport``.
    public var transport: (any Transport)?
    /// Where failed messages go. Default: a bounded ``InMemoryDeadLetterStore``.
    public var deadLetterStore: (any DeadLetterStore)?
    /// Remembers processed ids for effectively-once subscriptions. Default: a bounded
    /// ``InMemoryIdempotencyStore``.
    public var idempotencyStore: (any IdempotencyStore)?
    /// Time for waits, retries and envelope timestamps. Default: ``SystemClock``.
    public var clock: any BusClock
    /// Where the bus logs. Default: standard error at info and above.
    public var logger: Logger
    /// Seeds the retry jitter; nil draws a seed from the system's random source.
    public var randomSeed: UInt64?
    /// How long `publish`, `send` and `request` wait for room in a full queue by default.
    public var defaultFullQueueTimeout: Duration
    /// Limits applied to envelopes the bus builds or decodes.
    public var envelopeLimits: EnvelopeLimits
    /// Makes the spans of publishing and processing. Default: ``Tracer/disabled``, which
    /// records nothing but still passes incoming trace context on.
    public var tracer: Tracer
    /// Where the bus records its metrics; nil (the default) records none.
    public var metrics: BusMetrics?
    /// Consulted by `publish`, `send` and `request` before each message is built: admit,
    /// throttle (wait, then go on) or shed (throw `shed`). Default nil: everything is
    /// admitted and only the bounded queues push back.
    public var admission: (any AdmissionControl)?

    public init(
        transport: (any Transport)? = nil, deadLetterStore: (any DeadLetterStore)? = nil,
        idempotencyStore: (any IdempotencyStore)? = nil, clock: any BusClock = SystemClock(),
        logger: Logger = .standardError, randomSeed: UInt64? = nil,
        defaultFullQueueTimeout: Duration = .seconds(30),
        envelopeLimits: EnvelopeLimits = .standard, tracer: Tracer = .disabled,
        metrics: BusMetrics? = nil, admission: (any AdmissionControl)? = nil
    ) {
        self.transport = transport
        self.deadLetterStore = deadLetterStore
        self.idempotencyStore = idempotencyStore
        self.clock = clock
        self.logger = logger
        self.randomSeed = randomSeed
        self.defaultFullQueueTimeout = defaultFullQueueTimeout
        self.envelopeLimits = envelopeLimits
        self.tracer = tracer
        self.metrics = metrics
        self.admission = admission
    }
}

/// How a subscription is handled. The defaults: queued, one handler at a time, 1024
/// messages of capacity, the standard retry policy, at-least-once.
public struct SubscriptionOptions: Hashable, Sendable {
    public enum Dispatch: Hashable, Sendable {
        /// The publishing call runs the handler (with its retries) before it returns, and
        /// the handler's last error reaches the caller.
        case inline
        /// The message is queued and handled by the group's workers; the call returns once
        /// it is queued.
        case queued
    }

    public var dispatch: Dispatch
    /// Handlers of this group running at once (queued dispatch).
    public var concurrency: Int
    /// The group's queue capacity (queued dispatch).
    public var capacity: Int
    public var retry: RetryPolicy
    public var delivery: DeliveryGuarantee
    /// Whether processing spans continue the creation trace or start a linked new one.
    public var traceMode: ProcessingTraceMode

    public init(
        dispatch: Dispatch = .queued, concurrency: Int = 1, capacity: Int = 1024,
        retry: RetryPolicy = .standard, delivery: DeliveryGuarantee = .atLeastOnce,
        traceMode: ProcessingTraceMode = .childOfCreation
    ) {
        self.dispatch = dispatch
        self.concurrency = concurrency
        self.capacity = capacity
        self.retry = retry
        self.delivery = delivery
        self.traceMode = traceMode
    }

    func validated(for key: GroupKey) throws -> SubscriptionOptions {
        guard concurrency >= 1, capacity >= concurrency else {
            throw BusError(
                .invalidOptions,
                "group \(key): concurrency must be at least 1 and capacity at least the "
                    + "concurrency (got concurrency \(concurrency), capacity \(capacity))")
        }
        if case .effectivelyOnce(let window) = delivery, window <= .zero {
            throw BusError(.invalidOptions, "group \(key): the effectively-once window is empty")
        }
        return self
    }
}

/// Per-call choices for `publish`, `send` and `request`.
public struct PublishOptions: Sendable {
    /// Overrides the message's own priority.
    public var priority: Priority?
    /// Overrides the message's own partition key.
    public var partitionKey: String?
    /// What to do when a group's queue is full; nil uses the bus's default wait.
    public var whenFull: FullQueueBehavior?
    /// Extra free-form headers.
    public var headers: [String: String]
    /// Links to other traces this message relates to.
    public var links: [SpanLink]
    /// After this long the message is dead-lettered as expired instead of handled.
    public var timeToLive: Duration?
    /// The producer's name, which the admission control's policy maps to a priority, a
    /// cohort and a tolerance for delay. Nil: an unnamed producer.
    public var producer: String?

    public init(
        priority: Priority? = nil, partitionKey: String? = nil,
        whenFull: FullQueueBehavior? = nil, headers: [String: String] = [:],
        links: [SpanLink] = [], timeToLive: Duration? = nil, producer: String? = nil
    ) {
        self.priority = priority
        self.partitionKey = partitionKey
        self.whenFull = whenFull
        self.headers = headers
        self.links = links
        self.timeToLive = timeToLive
        self.producer = producer
    }
}
