import Foundation

extension Bus {
    /// Publishes an event to every subscriber group of its channel.
    ///
    /// Returns once every queued group holds a copy and every inline group's handler has
    /// run. With no subscribers the event goes nowhere, which is not an error.
    ///
    /// - Throws: ``BusError`` `queueFull` when a group has no room (after waiting, unless
    ///   `options.whenFull` is `.fail`), `shuttingDown`, `handlerFailed` from an inline
    ///   handler, `encodingFailed` when the payload does not encode (in process it is
    ///   encoded only where bytes are needed, see ``Transport/carriesMessageValues``),
    ///   `shed` when the admission control refuses it (after waiting out a throttle delay
    ///   when it asks for one).
    public func publish<E: Event>(_ event: E, options: PublishOptions = PublishOptions())
        async throws
    {
        try checkIntake()
        let throttled = try await admit(
            channel: E.channel, priority: options.priority ?? event.priority, options: options)
        let envelope = try makeEnvelope(for: event, options: options)
        let targets = contracts.filtered(
            routes.withLock {
                $0.targets(channel: envelope.channel, messageType: envelope.messageType)
            }, for: envelope)
        try await produce(
            envelope, to: targets, options: options, operation: "publish", throttled: throttled)
    }

    /// Sends a command to its one handler.
    ///
    /// - Throws: ``BusError`` `noHandler` at once when nobody in this process handles the
    ///   command's type and the transport does not fan out remotely (over a distributed
    ///   transport the handler may live in another process, so the engine decides);
    ///   otherwise as ``publish(_:options:)``.
    public func send<C: Command>(_ command: C, options: PublishOptions = PublishOptions())
        async throws
    {
        try checkIntake()
        let throttled = try await admit(
            channel: C.channel, priority: options.priority ?? command.priority, options: options)
        let envelope = try makeEnvelope(for: command, options: options)
        let targets = try singleHandlerTargets(for: envelope)
        try await produce(
            envelope, to: targets, options: options, operation: "send", throttled: throttled)
    }

    /// Sends a request to its one handler and waits for the reply.
    ///
    /// - Throws: ``BusError`` `requestTimedOut` when no reply came within `timeout`,
    ///   `requestFailed` when the handler failed for good, `noHandler` at once when nobody
    ///   handles the type (in process, as for ``send(_:options:)``).
    public func request<R: Request>(
        _ request: R, timeout: Duration, options: PublishOptions = PublishOptions()
    ) async throws -> R.Reply {
        try checkIntake()
        let throttled = try await admit(
            channel: R.channel, priority: options.priority ?? request.priority, options: options)
        var envelope = try makeEnvelope(for: request, options: options)
        envelope.replyTo = replyAddress
        let targets = try singleHandlerTargets(for: envelope)
        // Replies from handlers in other processes come back through the transport.
        try await transport.routeReplies(to: replyAddress) { [weak self] reply in
            self?.completeReply(reply)
        }

        // A CLIENT span covers the whole wait; the PRODUCER span of the send is its child.
        let waitSpan = tracer.startSpan(
            "request \(envelope.channel)", kind: .client, parent: TracingContext.current,
            attributes: [
                SpanAttributeName.system: .string(transport.system),
                SpanAttributeName.destination: .string(envelope.channel),
            ])
        let reply: Envelope
        do {
            reply = try await TracingContext.$current.withValue(waitSpan.context) {
                let requestEnvelope = envelope
                return try await awaitReply(to: requestEnvelope.id, timeout: timeout) {
                    try await self.produce(
                        requestEnvelope, to: targets, options: options, operation: "send",
                        throttled: throttled)
                }
            }
        } catch {
            Self.end(waitSpan, failingWith: error)
            throw error
        }
        waitSpan.end()

        if reply.contentType == ReplyError.contentType {
            let failure = try? JSONDecoder().decode(ReplyError.self, from: reply.payload)
            throw BusError(
                .requestFailed,
                "\(R.messageType) failed: \(failure?.error ?? "unreadable error reply")")
        }
        do {
            return try JSONDecoder.sightlinePayload().decode(R.Reply.self, from: reply.payload)
        } catch {
            throw BusError(
                .requestFailed, "reply to \(R.messageType) does not decode: \(error)")
        }
    }

    // MARK: Building envelopes

    /// Builds the envelope of a new message. Over a transport that keeps envelopes in this
    /// process the payload stays the message value until bytes are needed (``EnvelopeBody``);
    /// otherwise it is encoded here.
    func makeEnvelope<M: Message>(for message: M, options: PublishOptions) throws -> Envelope {
        try checkIntake()

        let now = clock.wallTime()
        let parent = MessageContext.current
        // An empty one is no correlation id: the new message's own id stands in (nil).
        let correlationID = parent.map(\.correlationID).flatMap { $0.isEmpty ? nil : $0 }
        // The trace context is set from the producer span once it starts.
        var envelope = Envelope(
            id: MessageID.make(at: now), messageType: M.messageType,
            schemaVersion: M.schemaVersion, channel: M.channel,
            partitionKey: options.partitionKey ?? message.partitionKey,
            priority: options.priority ?? message.priority, createdAt: now,
            expiresAt: options.timeToLive.map { now.addingTimeInterval($0.seconds) },
            correlationID: correlationID, causationID: parent?.messageID.description,
            headers: options.headers, baggage: parent?.envelope.baggage, links: options.links,
            contentType: M.payloadCodec.contentType, payload: Data())
        envelope.body = EnvelopeBody(deferring: message)
        if !transport.carriesMessageValues {
            try encodePayload(of: &envelope)
        }
        do {
            try envelope.validateForEncoding(limits: configuration.envelopeLimits)
        } catch {
            throw BusError(.encodingFailed, "\(M.messageType): \(error)")
        }
        return envelope
    }

    /// Encodes a payload still held as a value.
    ///
    /// - Throws: ``BusError`` `encodingFailed`.
    func encodePayload(of envelope: inout Envelope) throws {
        do {
            try envelope.body.encode()
        } catch {
            throw BusError(.encodingFailed, "\(envelope.messageType) does not encode: \(error)")
        }
    }

    /// Refuses new work once shutdown began, except follow-up messages of handlers that are
    /// still draining.
    func checkIntake() throws {
        switch lifecycle.load(ordering: .acquiring) {
        case .running:
            return
        case .draining where MessageContext.current != nil:
            return
        case .draining, .stopped:
            throw BusError(.shuttingDown, "the bus is shutting down and takes no new messages")
        }
    }

    private func singleHandlerTargets(for envelope: Envelope) throws -> [Subscription] {
        let targets = routes.withLock {
            $0.targets(channel: envelope.channel, messageType: envelope.messageType)
        }
        // With engine-side fan-out the one handler may live in another process.
        guard !targets.isEmpty || transport.fansOutRemotely else {
            throw BusError(.noHandler, "no handler is registered for \(envelope.messageType)")
        }
        return targets
    }

    // MARK: Dispatch

    /// Publishes one envelope inside its PRODUCER span and records the publish metrics.
    func produce(
        _ envelope: Envelope, to targets: [Subscription], options: PublishOptions,
        operation: String, throttled: Duration? = nil
    ) async throws {
        var envelope = envelope
        // Only the publish metrics read the start time.
        let started = metrics == nil ? .zero : clock.now()
        let span = startProducerSpan(for: &envelope, operation: operation)
        if let throttled {
            span.addEvent(
                "sightline.throttled",
                attributes: ["sightline.throttle.delay_seconds": .double(throttled.seconds)])
        }
        do {
            try await dispatch(envelope, to: targets, options: options)
        } catch {
            Self.end(span, failingWith: error)
            recordPublish(envelope, operation: operation, started: started, error: error)
            throw error
        }
        // A publisher waits here while the span queue is nearly full, so that tracing slows
        // producers down to what the exporter can send instead of dropping their spans.
        await span.endWaitingForRoom()
        recordPublish(envelope, operation: operation, started: started, error: nil)
    }

    /// Queues the envelope for queued groups and runs inline groups' handlers.
    func dispatch(
        _ envelope: Envelope, to targets: [Subscription], options: PublishOptions
    ) async throws {
        let queued = targets.compactMap { $0.options.dispatch == .queued ? $0.key : nil }
        let whenFull = options.whenFull ?? .wait(timeout: configuration.defaultFullQueueTimeout)
        if transport.fansOutRemotely {
            // The engine copies the envelope to every group, local or not.
            try await transport.enqueue(envelope, to: [], whenFull: whenFull)
        } else if !queued.isEmpty {
            try await transport.enqueue(envelope, to: queued, whenFull: whenFull)
        }

        for subscription in targets where subscription.options.dispatch == .inline {
            try await deliverInline(envelope, to: subscription)
        }
    }
}

/// The payload of a reply that reports a failed request.
struct ReplyError: Codable {
    static let contentType = "application/vnd.sightline.error+json"

    var error: String
}
