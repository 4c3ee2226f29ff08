import Foundation

// Entry points for code that builds envelopes apart from publishing them, such as a
// transactional outbox: build now, keep the bytes, publish later with the same id.

extension Bus {
    /// Builds the envelope ``publish(_:options:)`` or ``send(_:options:)`` would build for
    /// `message`, without publishing it: a new id, the correlation and causation of the
    /// handler running in this task (``MessageContext/current``), and, as its
    /// `traceparent`, the current span context (``TracingContext/current``), if any.
    ///
    /// - Throws: ``BusError`` `encodingFailed`, `shuttingDown`.
    public func envelope<M: Message>(
        for message: M, options: PublishOptions = PublishOptions()
    ) throws -> Envelope {
        var envelope = try makeEnvelope(for: message, options: options)
        // Whoever asked keeps or sends the envelope elsewhere: it needs the bytes.
        try encodePayload(of: &envelope)
        if let context = TracingContext.current, context.isValid {
            envelope.traceParent = TraceParent(context).headerValue
            envelope.traceState = context.traceState.isEmpty ? nil : context.traceState
        }
        return envelope
    }

    /// Publishes an envelope built earlier, keeping its id, creation time, correlation and
    /// causation, to every subscriber group of its channel that handles its type.
    ///
    /// The PRODUCER span's parent is ``TracingContext/current``; it links to the envelope's
    /// own links and to `links`, and its context replaces the envelope's `traceparent`.
    /// The delivery starts again at attempt 1. With no subscriber the envelope goes
    /// nowhere, which is not an error (as for ``publish(_:options:)``), whether it holds an
    /// event or a command.
    ///
    /// - Throws: as ``publish(_:options:)``.
    public func publish(
        envelope: Envelope, options: PublishOptions = PublishOptions(), links: [SpanLink] = []
    ) async throws {
        try checkIntake()
        var envelope = envelope
        envelope.attempt = 1
        let targets = routes.withLock {
            $0.targets(channel: envelope.channel, messageType: envelope.messageType)
        }

        let started = clock.now()
        let span = startProducerSpan(for: &envelope, operation: "publish")
        for link in links {
            span.addLink(Self.linkData(link))
        }
        do {
            try await dispatch(envelope, to: targets, options: options)
        } catch {
            Self.end(span, failingWith: error)
            recordPublish(envelope, operation: "publish", started: started, error: error)
            throw error
        }
        // A publisher waits here while the span queue is nearly full, so that tracing slows
        // producers down to what the exporter can send instead of dropping their spans.
        await span.endWaitingForRoom()
        recordPublish(envelope, operation: "publish", started: started, error: nil)
    }
}
