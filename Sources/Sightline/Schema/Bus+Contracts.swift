import Foundation

/// Span attribute and event names of versioned contracts.
enum SchemaSpanName {
    static let versionReceived = "sightline.schema.version.received"
    static let versionHandled = "sightline.schema.version.handled"
    static let rejection = "sightline.schema.rejection"
    static let upcastEvent = "sightline.schema.upcast"
    static let fromVersion = "sightline.schema.from_version"
    static let toVersion = "sightline.schema.to_version"
    static let transformFrom = "sightline.transform.from"
    static let transformTo = "sightline.transform.to"
}

extension Bus {
    // MARK: Subscribing with upcasters and filters

    /// Subscribes a group to an event type, reading older versions through `upcasters`.
    ///
    /// A message at the handled version (`E.schemaVersion`) is decoded directly; an older
    /// one is decoded as the version it was written in and upgraded step by step; one that
    /// no chain reads, a newer one, or one that does not decode is dead-lettered with reason
    /// `unknown_version`, `invalid_version` or `undecodable` and never retried. The
    /// processing span records `sightline.schema.version.received` and `…handled`, and a
    /// `sightline.schema.upcast` event per step.
    ///
    /// - Throws: ``BusError`` `invalidOptions` when the upcasters do not all lead to
    ///   `E.schemaVersion`; otherwise as ``subscribe(to:group:options:handler:)``.
    public func subscribe<E: Event>(
        to type: E.Type, group: String, options: SubscriptionOptions = SubscriptionOptions(),
        upcasting upcasters: [Upcaster<E>], filter: SubscriptionFilter = .all,
        handler: @escaping @Sendable (E, MessageContext) async throws -> Void
    ) async throws {
        let reader = try MessageReader<E>(upcasters: upcasters)
        try await register(
            E.self, group: group, options: options, singleHandler: false, reader: reader,
            filter: filter
        ) { message, context in
            try await handler(message, context)
            return nil
        }
    }

    /// Subscribes a group to the messages of an event type that pass `filter`: a version
    /// range, header predicates, message types. Others are not routed to the group.
    public func subscribe<E: Event>(
        to type: E.Type, group: String, options: SubscriptionOptions = SubscriptionOptions(),
        filter: SubscriptionFilter,
        handler: @escaping @Sendable (E, MessageContext) async throws -> Void
    ) async throws {
        try await subscribe(
            to: type, group: group, options: options, upcasting: [], filter: filter,
            handler: handler)
    }

    /// Registers the one handler of a command type, reading older versions through
    /// `upcasters` (see ``subscribe(to:group:options:upcasting:filter:handler:)``).
    public func handle<C: Command>(
        _ type: C.Type, group: String = "handler",
        options: SubscriptionOptions = SubscriptionOptions(), upcasting upcasters: [Upcaster<C>],
        handler: @escaping @Sendable (C, MessageContext) async throws -> Void
    ) async throws {
        let reader = try MessageReader<C>(upcasters: upcasters)
        try await register(
            C.self, group: group, options: options, singleHandler: true, reader: reader
        ) { message, context in
            try await handler(message, context)
            return nil
        }
    }

    /// Reads the delivered envelope as `M`, recording versions on the processing span and
    /// the schema metrics. Called by the erased handler of every subscription.
    ///
    /// - Parameter handledVersionReceived: the schema received counter of `M` at its own
    ///   version, resolved once per subscription, for the common case.
    func readMessage<M: Message>(
        _ envelope: Envelope, with reader: MessageReader<M>, key: GroupKey, span: Span?,
        handledVersionReceived: Counter?
    ) throws -> M {
        span?.setAttribute(SchemaSpanName.versionReceived, .int(Int64(envelope.schemaVersion)))
        span?.setAttribute(SchemaSpanName.versionHandled, .int(Int64(M.schemaVersion)))

        // Published in this process as this very type and version: nothing to decode. Checked
        // here rather than in the reader because this code runs unspecialized, and every
        // generic type it touches (the reading, its steps) is a metadata lookup per message.
        if envelope.schemaVersion == M.schemaVersion, let message = envelope.body.value as? M {
            handledVersionReceived?.increment()
            return message
        }

        let families = contracts.metrics(metrics)
        let version = SchemaMetrics.versionLabel(envelope.schemaVersion, handled: M.schemaVersion)

        let reading: MessageReader<M>.Reading
        do {
            reading = try reader.read(envelope)
        } catch {
            span?.setAttribute(SchemaSpanName.rejection, .string(error.code.rawValue))
            families?.received.labels(key.channel, key.group, M.messageType, version).increment()
            families?.rejections.labels(
                key.channel, key.group, M.messageType, error.code.rawValue
            ).increment()
            throw error
        }

        families?.received.labels(key.channel, key.group, M.messageType, version).increment()
        for step in reading.steps {
            span?.addEvent(
                SchemaSpanName.upcastEvent,
                attributes: [
                    SchemaSpanName.fromVersion: .int(Int64(step.from)),
                    SchemaSpanName.toVersion: .int(Int64(step.to)),
                ])
            families?.upcasts.labels(
                key.channel, key.group, M.messageType, String(step.from), String(step.to)
            ).increment()
        }
        return reading.message
    }

    /// Records a new subscription's contract and starts its rare-event series at zero.
    func recordContract<M: Message>(_ type: M.Type, key: GroupKey, filter: SubscriptionFilter) {
        contracts.record(
            key, messageType: M.messageType, handledVersion: M.schemaVersion, filter: filter)
        guard let families = contracts.metrics(metrics) else { return }
        for code in [
            MessageContractError.Code.unknownVersion, .invalidVersion, .undecodable,
        ] {
            _ = families.rejections.labels(key.channel, key.group, M.messageType, code.rawValue)
        }
    }

    // MARK: Dual publishing

    /// Publishes one event in two schema versions at once, for a migration: every
    /// subscriber group gets exactly one copy, the newest version it handles (or the older
    /// copy when it handles neither, which it then dead-letters as `unknown_version`).
    ///
    /// Both copies share one message id and correlation id, so effectively-once groups see
    /// one message. Each copy has its own PRODUCER span.
    ///
    /// - Throws: ``BusError`` `encodingFailed` when the two types do not share their message
    ///   type and channel or have the same version; otherwise as ``publish(_:options:)``.
    public func publish<First: Event, Second: Event>(
        _ first: First, alongside second: Second, options: PublishOptions = PublishOptions()
    ) async throws {
        guard First.messageType == Second.messageType, First.channel == Second.channel,
            First.schemaVersion != Second.schemaVersion
        else {
            throw BusError(
                .encodingFailed,
                "dual publish needs two versions of one message type on one channel, got "
                    + "\(First.messageType) v\(First.schemaVersion) on \(First.channel) and "
                    + "\(Second.messageType) v\(Second.schemaVersion) on \(Second.channel)")
        }
        let firstEnvelope = try makeEnvelope(for: first, options: options)
        var secondEnvelope = try makeEnvelope(for: second, options: options)
        secondEnvelope.id = firstEnvelope.id
        secondEnvelope.correlationID = firstEnvelope.correlationID
        let (newer, older) =
            First.schemaVersion > Second.schemaVersion
            ? (firstEnvelope, secondEnvelope) : (secondEnvelope, firstEnvelope)

        let targets = routes.withLock {
            $0.targets(channel: newer.channel, messageType: newer.messageType)
        }
        var newerTargets: [Subscription] = []
        var olderTargets: [Subscription] = []
        for subscription in targets {
            let handled =
                contracts.handledVersion(subscription.key, messageType: newer.messageType)
                ?? Int.max
            if handled >= newer.schemaVersion {
                if contracts.admits(newer, to: subscription.key) {
                    newerTargets.append(subscription)
                }
            } else if contracts.admits(older, to: subscription.key) {
                olderTargets.append(subscription)
            }
        }
        try await produce(newer, to: newerTargets, options: options, operation: "publish")
        try await produce(older, to: olderTargets, options: options, operation: "publish")
    }

    // MARK: Transforms

    /// Declares `Target` a translation of `Source`: every `Source` published is mapped by
    /// `transform` and published as a `Target`, so subscribers of the canonical type receive
    /// legacy messages too.
    ///
    /// The translator is a subscriber group of `Source` (`translate.<target type>` unless
    /// named), with the usual retries and dead letters. Each translation runs in a span
    /// `translate <source> to <target>`, child of the processing span and parent of the
    /// publish of the result.
    public func translate<Source: Event, Target: Event>(
        _ source: Source.Type, into target: Target.Type, group: String? = nil,
        options: SubscriptionOptions = SubscriptionOptions(),
        _ transform: @escaping @Sendable (Source) throws -> Target
    ) async throws {
        let name = "translate \(Source.messageType) to \(Target.messageType)"
        try await subscribe(
            to: source, group: group ?? "translate.\(Target.messageType)", options: options
        ) { [self] message, _ in
            let span = tracer.startSpan(
                name, kind: .internal, parent: TracingContext.current,
                attributes: [
                    SchemaSpanName.transformFrom: .string(Source.messageType),
                    SchemaSpanName.transformTo: .string(Target.messageType),
                ])
            let counter = contracts.metrics(metrics)?.transforms
            do {
                let translated = try transform(message)
                try await TracingContext.$current.withValue(
                    span.context.isValid ? span.context : nil
                ) {
                    try await publish(translated)
                }
            } catch {
                counter?.labels(Source.messageType, Target.messageType, Self.errorType(error))
                    .increment()
                Self.end(span, failingWith: error)
                throw error
            }
            counter?.labels(Source.messageType, Target.messageType, "").increment()
            span.end()
        }
    }

    /// Declares `Source` an alias of `Target`: the payload of every `Source` is read as a
    /// `Target` unchanged (through JSON) and published as one. A translation without a
    /// mapping; see ``translate(_:into:group:options:_:)``.
    public func alias<Source: Event, Target: Event>(
        _ source: Source.Type, to target: Target.Type, group: String? = nil,
        options: SubscriptionOptions = SubscriptionOptions()
    ) async throws {
        try await translate(source, into: target, group: group, options: options) { message in
            try JSONValue(encoding: message).decode(Target.self)
        }
    }
}
