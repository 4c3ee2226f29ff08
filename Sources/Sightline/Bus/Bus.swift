import Foundation
import Synchronization

/// The message bus a service embeds: publish events, send commands, make requests, and
/// register the handlers that receive them.
///
/// A `Bus` is `Sendable`; share one instance across the service. Handlers registered with
/// queued dispatch run on the bus's workers from the moment they are registered. Call
/// ``shutdown(deadline:)`` before the process exits so that queued work drains.
public final class Bus: Sendable {
    enum Lifecycle: UInt8, AtomicRepresentable {
        case running
        case draining
        case stopped
    }

    let transport: any Transport
    let deadLetterStore: any DeadLetterStore
    let idempotencyStore: any IdempotencyStore
    let clock: any BusClock
    let logger: Logger
    let tracer: Tracer
    let metrics: BusMetrics?
    let configuration: BusConfiguration
    /// The address replies to this bus's requests are sent to.
    let replyAddress: String

    let routes = Mutex(Routes())
    /// Read on every publish and every delivery, so an atomic rather than a lock.
    let lifecycle = Atomic(Lifecycle.running)
    let workers = Mutex<[Task<Void, Never>]>([])
    let pendingReplies = Mutex<[MessageID: PendingReply]>([:])
    let random: Mutex<SplitMix64>
    /// Publish metric handles by route, resolved on first use (bounded by the routes).
    let publishMetrics = Mutex<[PublishMetrics.Key: PublishMetrics]>([:])
    /// PRODUCER span names and start attributes by route, made on first use.
    let producerSpans = Mutex<[SpanTemplate.ProducerKey: SpanTemplate]>([:])
    /// Handled schema versions and routing filters per subscription (Schema/).
    let contracts = ContractTable()

    public init(configuration: BusConfiguration = BusConfiguration()) {
        self.configuration = configuration
        self.clock = configuration.clock
        self.tracer = configuration.tracer
        self.metrics = configuration.metrics
        self.logger = configuration.logger.withComponent("sightline.bus")
        self.transport = configuration.transport ?? InMemoryTransport(clock: configuration.clock)
        self.deadLetterStore =
            configuration.deadLetterStore ?? InMemoryDeadLetterStore(logger: configuration.logger)
        self.idempotencyStore =
            configuration.idempotencyStore
            ?? InMemoryIdempotencyStore(logger: configuration.logger)
        var seeder = SystemRandomNumberGenerator()
        self.random = Mutex(SplitMix64(seed: configuration.randomSeed ?? seeder.next()))
        self.replyAddress = "sightline.reply.\(MessageID.make())"

        if let metrics = configuration.metrics {
            Self.installCollectHooks(metrics: metrics, tracer: tracer) { [weak self] in
                self?.lagReports() ?? [:]
            }
        }
    }

    // MARK: Registering handlers

    /// Subscribes a group to an event type. Every group subscribed to the event's channel
    /// gets its own copy; handlers inside one group compete for copies.
    ///
    /// - Throws: ``BusError`` `duplicateSubscription` when the group already handles the
    ///   type, `invalidOptions` for options out of range.
    public func subscribe<E: Event>(
        to type: E.Type, group: String, options: SubscriptionOptions = SubscriptionOptions(),
        handler: @escaping @Sendable (E, MessageContext) async throws -> Void
    ) async throws {
        try await register(E.self, group: group, options: options, singleHandler: false) {
            message, context in
            try await handler(message, context)
            return nil
        }
    }

    /// Registers the one handler of a command type.
    ///
    /// - Throws: ``BusError`` `duplicateHandler` when the type already has a handler.
    public func handle<C: Command>(
        _ type: C.Type, group: String = "handler",
        options: SubscriptionOptions = SubscriptionOptions(),
        handler: @escaping @Sendable (C, MessageContext) async throws -> Void
    ) async throws {
        try await register(C.self, group: group, options: options, singleHandler: true) {
            message, context in
            try await handler(message, context)
            return nil
        }
    }

    /// Registers the one handler of a request type; its return value is the reply.
    ///
    /// - Throws: ``BusError`` `duplicateHandler` when the type already has a handler.
    public func respond<R: Request>(
        to type: R.Type, group: String = "handler",
        options: SubscriptionOptions = SubscriptionOptions(),
        handler: @escaping @Sendable (R, MessageContext) async throws -> R.Reply
    ) async throws {
        try await register(R.self, group: group, options: options, singleHandler: true) {
            message, context in
            try JSONEncoder.sightlinePayload().encode(try await handler(message, context))
        }
    }

    /// Registers a handler. `reader` decodes the payload by schema version (with upcasters,
    /// Schema/MessageReader.swift); `filter` limits what is routed to the group.
    func register<M: Message>(
        _ type: M.Type, group: String, options: SubscriptionOptions, singleHandler: Bool,
        reader: MessageReader<M>? = nil, filter: SubscriptionFilter = .all,
        body: @escaping @Sendable (M, MessageContext) async throws -> Data?
    ) async throws {
        let key = GroupKey(channel: M.channel, group: group)
        let options = try options.validated(for: key)
        let reader = try reader ?? MessageReader<M>()
        let received = contracts.metrics(metrics)?.received.labels(
            key.channel, key.group, M.messageType,
            SchemaMetrics.versionLabel(M.schemaVersion, handled: M.schemaVersion))
        let erased: ErasedHandler = { [unowned self] envelope, context in
            let message = try readMessage(
                envelope, with: reader, key: key, span: context.processingSpan,
                handledVersionReceived: received)
            do {
                try message.validate()
            } catch let error as InvalidMessageError {
                throw error
            } catch {
                throw InvalidMessageError("\(error)")
            }
            return try await body(message, context)
        }

        let (subscription, isNew) = try routes.withLock { routes in
            if singleHandler, routes.singleHandlerTypes.contains(M.messageType) {
                throw BusError(
                    .duplicateHandler, "\(M.messageType) already has its one handler")
            }
            let existing = routes.subscriptions[key]
            let subscription =
                existing
                ?? Subscription(
                    key: key, options: options,
                    metrics: metrics.map {
                        GroupMetrics(metrics: $0, key: key, system: transport.system)
                    },
                    processSpan: .process(key, system: transport.system))
            try subscription.add(messageType: M.messageType, handler: erased)
            routes.subscriptions[key] = subscription
            routes.byType[key.channel, default: [:]][M.messageType, default: []].append(
                subscription)
            if singleHandler { routes.singleHandlerTypes.insert(M.messageType) }
            return (subscription, existing == nil)
        }
        recordContract(M.self, key: key, filter: filter)

        guard isNew, subscription.options.dispatch == .queued else { return }
        try await transport.declare(
            GroupDescriptor(
                key: key, capacity: subscription.options.capacity,
                concurrency: subscription.options.concurrency,
                maximumAttempts: subscription.options.retry.maximumAttempts))
        startWorkers(for: subscription)
        logger.debug(
            "subscriber group started",
            [
                LogKey.channel: key.channel, LogKey.group: key.group,
                LogKey.count: String(subscription.options.concurrency),
            ])
    }

    private func startWorkers(for subscription: Subscription) {
        let tasks = (0..<subscription.options.concurrency).map { _ in
            Task { [self] in
                while true {
                    let deliveries = await transport.receive(
                        from: subscription.key, upTo: Self.deliveriesPerWakeUp)
                    if deliveries.isEmpty { return }

                    // The handled ones are acknowledged together (see `deliverQueued`).
                    var handled: [TransportDelivery] = []
                    handled.reserveCapacity(deliveries.count)
                    for delivery in deliveries {
                        // Once stopped, what is left of the batch is reported unfinished.
                        if lifecycle.load(ordering: .acquiring) == .stopped { break }
                        if await deliverQueued(delivery, to: subscription) {
                            handled.append(delivery)
                        }
                    }
                    transport.acknowledge(handled)
                }
            }
        }
        workers.withLock { $0.append(contentsOf: tasks) }
    }

    /// The most deliveries a worker takes from its queue at once. Taking several per wake-up
    /// saves a lock and often a suspension per message when the queue is backed up; the
    /// transport shares what is waiting among a group's workers.
    static let deliveriesPerWakeUp = 32

    // MARK: Inspection

    /// The lag of every queued subscriber group, for monitoring.
    public func lagReports() -> [GroupKey: QueueLag] {
        let keys = routes.withLock { Array($0.subscriptions.keys) }
        var reports: [GroupKey: QueueLag] = [:]
        for key in keys {
            reports[key] = transport.lag(of: key)
        }
        return reports
    }

    func nextJitterUnit() -> Double {
        random.withLock { $0.nextUnit() }
    }
}
