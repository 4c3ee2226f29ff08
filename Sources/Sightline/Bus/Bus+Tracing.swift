import Foundation

// Spans follow the OpenTelemetry semantic conventions for messaging: PRODUCER spans named
// `{operation} {destination}` for publish and send, CONSUMER spans `process {destination}`
// for each delivery attempt, with attributes under `messaging.*` and Sightline's own under
// `sightline.*`. The attributes of the route (system, operation, destination, group) are
// set when the span starts, so that a sampler sees them; those of the message (id, type,
// priority, ...) only once the span is known to record, so that an unsampled span costs no
// attribute building.

/// The attribute names the bus sets on spans, in one place.
enum SpanAttributeName {
    static let system = "messaging.system"
    static let operationName = "messaging.operation.name"
    static let operationType = "messaging.operation.type"
    static let destination = "messaging.destination.name"
    static let consumerGroup = "messaging.consumer.group.name"
    static let messageID = "messaging.message.id"
    static let conversationID = "messaging.message.conversation_id"
    static let bodySize = "messaging.message.body.size"
    static let attempt = "sightline.attempt"
    static let priority = "sightline.priority"
    static let hasPartitionKey = "sightline.partition_key.present"
    static let messageType = "sightline.message.type"
    static let deadLetterReason = "sightline.dead_letter.reason"
    static let retryDelay = "sightline.retry.delay_seconds"
}

/// The name and start attributes of the spans of one route, made once per route: building
/// them for every message (a string and a dictionary of four or five hashed keys) was a
/// tenth of the cost of an unsampled traced delivery in profiles of the in-process bus.
struct SpanTemplate: Sendable {
    /// What a PRODUCER template is cached under.
    struct ProducerKey: Hashable, Sendable {
        var operation: String
        var channel: String
    }

    let name: String
    let attributes: SpanAttributes

    /// - Parameter attributes: stored with room for the message attributes a recording span
    ///   adds later, so that adding them does not grow (and rehash) the dictionary.
    private init(name: String, attributes: [(String, AttributeValue)]) {
        var stored = SpanAttributes(minimumCapacity: 16)
        for (key, value) in attributes { stored[key] = value }
        self.name = name
        self.attributes = stored
    }

    static func producer(_ key: ProducerKey, system: String) -> SpanTemplate {
        SpanTemplate(
            name: "\(key.operation) \(key.channel)",
            attributes: [
                (SpanAttributeName.system, .string(system)),
                (SpanAttributeName.operationName, .string(key.operation)),
                (SpanAttributeName.operationType, .string("send")),
                (SpanAttributeName.destination, .string(key.channel)),
            ])
    }

    static func process(_ key: GroupKey, system: String) -> SpanTemplate {
        SpanTemplate(
            name: "process \(key.channel)",
            attributes: [
                (SpanAttributeName.system, .string(system)),
                (SpanAttributeName.operationName, .string("process")),
                (SpanAttributeName.operationType, .string("process")),
                (SpanAttributeName.destination, .string(key.channel)),
                (SpanAttributeName.consumerGroup, .string(key.group)),
            ])
    }
}

/// How a processing span relates to the context the message was created in.
public enum ProcessingTraceMode: Hashable, Sendable {
    /// The creation context is the span's parent and also a link (the default).
    case childOfCreation
    /// A new trace that links to the creation context; for events with high fan-out.
    case newTraceLinkedToCreation
}

extension Bus {
    /// Starts the PRODUCER span of a publish or send and writes its context into the
    /// envelope's `traceparent` and `tracestate`.
    func startProducerSpan(for envelope: inout Envelope, operation: String) -> Span {
        let parent = TracingContext.current
        guard tracer.isEnabled else {
            // Nothing records: skip building attributes and pass the context on as it is.
            let span = tracer.startSpan(operation, kind: .producer, parent: parent)
            Self.writeTraceContext(of: span, into: &envelope)
            return span
        }
        let template = producerSpanTemplate(operation: operation, channel: envelope.channel)
        let span = tracer.startSpan(
            template.name, kind: .producer, parent: parent,
            links: envelope.links.map(Self.linkData), attributes: template.attributes)
        if span.isRecording {
            Self.setMessageAttributes(of: envelope, on: span)
        }

        Self.writeTraceContext(of: span, into: &envelope)
        return span
    }

    /// Writes the span's context into the envelope's `traceparent` and `tracestate`. Only a
    /// valid context travels; an invalid incoming one was already dropped when it was
    /// parsed, so it is never propagated.
    private static func writeTraceContext(of span: Span, into envelope: inout Envelope) {
        guard span.context.isValid else {
            envelope.traceParent = nil
            envelope.traceState = nil
            envelope.writtenTraceContext = WrittenTraceContext()
            return
        }
        // The header itself is formatted only if something reads it.
        envelope.writtenTraceContext = WrittenTraceContext(context: span.context)
        envelope.traceState = span.context.traceState.isEmpty ? nil : span.context.traceState
    }

    /// Starts the CONSUMER span of one delivery attempt.
    func startProcessSpan(for envelope: Envelope, in subscription: Subscription) -> Span {
        let creation = Self.creationContext(of: envelope)
        guard tracer.isEnabled else {
            let parent = subscription.options.traceMode == .childOfCreation ? creation : nil
            return tracer.startSpan("process", kind: .consumer, parent: parent)
        }
        let template = subscription.processSpan
        if subscription.options.traceMode == .childOfCreation, let creation,
            tracer.decisionForChild(of: creation) == .drop
        {
            // Known not to record: the sampler needs neither the link nor the attributes.
            return tracer.startSpan(template.name, kind: .consumer, parent: creation)
        }

        var links: [SpanLinkData] = []
        if let creation {
            links.append(
                SpanLinkData(
                    context: creation,
                    attributes: [SpanAttributeName.messageID: .string(envelope.id.description)]))
        }
        links.append(contentsOf: envelope.links.map(Self.linkData))

        let parent: SpanContext? =
            switch subscription.options.traceMode {
            case .childOfCreation: creation
            case .newTraceLinkedToCreation: nil
            }
        let span = tracer.startSpan(
            template.name, kind: .consumer, parent: parent, links: links,
            attributes: template.attributes)
        if span.isRecording {
            Self.setMessageAttributes(of: envelope, on: span)
            span.setAttribute(SpanAttributeName.attempt, .int(Int64(envelope.attempt)))
        }
        return span
    }

    /// The PRODUCER span template of a route, made on first use (bounded by the routes).
    private func producerSpanTemplate(operation: String, channel: String) -> SpanTemplate {
        let key = SpanTemplate.ProducerKey(operation: operation, channel: channel)
        return producerSpans.withLock { templates in
            if let cached = templates[key] { return cached }
            let made = SpanTemplate.producer(key, system: transport.system)
            templates[key] = made
            return made
        }
    }

    /// Sets the attributes that describe the message itself on a recording span.
    ///
    /// `messaging.message.body.size` is set only when the payload exists as bytes: a message
    /// handed over in process as its value has no body, and encoding it only to measure it
    /// would cost more than the rest of the delivery.
    private static func setMessageAttributes(of envelope: Envelope, on span: Span) {
        span.setAttribute(SpanAttributeName.messageID, .string(envelope.id.description))
        span.setAttribute(SpanAttributeName.conversationID, .string(envelope.correlationID))
        span.setAttribute(SpanAttributeName.messageType, .string(envelope.messageType))
        span.setAttribute(SpanAttributeName.priority, .string(envelope.priority.rawValue))
        span.setAttribute(
            SpanAttributeName.hasPartitionKey, .bool(envelope.partitionKey != nil))
        if let bytes = envelope.body.encodedBytes {
            span.setAttribute(SpanAttributeName.bodySize, .int(Int64(bytes.count)))
        }
    }

    /// The context the message was created in, or nil when it carries none or an invalid
    /// one (processing then starts a new trace).
    static func creationContext(of envelope: Envelope) -> SpanContext? {
        // Written in this process from a context without tracestate: what parsing the header
        // would give, without formatting or parsing it.
        if let context = envelope.writtenTraceContext.context, envelope.traceState == nil,
            context.traceState.isEmpty
        {
            return SpanContext(
                traceID: context.traceID, spanID: context.spanID, flags: context.flags,
                traceState: "", isRemote: true)
        }

        guard let header = envelope.traceParent, let parent = TraceParent.parse(header) else {
            return nil
        }
        let state = envelope.traceState.map { TraceState.parse($0) } ?? TraceState()
        return parent.makeSpanContext(traceState: state)
    }

    static func linkData(_ link: SpanLink) -> SpanLinkData {
        SpanLinkData(
            context: SpanContext(
                traceID: link.traceID, spanID: link.spanID, flags: link.flags,
                traceState: link.traceState, isRemote: true),
            attributes: link.attributes.mapValues { .string($0) })
    }

    /// A short, bounded name for an error's kind: the bus's own code, or the Swift type.
    static func errorType(_ error: any Error) -> String {
        switch error {
        case let error as BusError: error.code.rawValue
        case let error as PermanentError: errorType(error.underlying)
        case is InvalidMessageError: "invalid_message"
        case is PayloadDecodingError: "undecodable"
        case let error as MessageContractError: error.code.rawValue
        default: String(describing: type(of: error))
        }
    }

    /// Ends a span with the error recorded.
    static func end(_ span: Span, failingWith error: any Error) {
        span.recordError(type: errorType(error), description: "\(error)")
        span.end()
    }
}
