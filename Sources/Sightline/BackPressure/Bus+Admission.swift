extension Bus {
    /// Asks the configured admission control about one message before it is built:
    /// returns at once on admit, after the delay on throttle, and throws on shed. Every
    /// decision other than admit is counted in the metrics; a shed message leaves a failed
    /// PRODUCER span with a `sightline.shed` event, and the caller adds a
    /// `sightline.throttled` event to the publish span of a throttled one.
    ///
    /// - Returns: the throttle delay waited, or nil when the message was admitted at once.
    /// - Throws: ``BusError`` `shed` carrying the controller's retry-after hint;
    ///   `CancellationError` when the task is cancelled during a throttle delay.
    @discardableResult
    func admit(channel: String, priority: Priority, options: PublishOptions) async throws
        -> Duration?
    {
        guard let admission = configuration.admission else { return nil }
        let decision = admission.decide(
            channel: channel, priority: priority, producer: options.producer,
            timeToLive: options.timeToLive)
        switch decision {
        case .admit:
            return nil
        case .throttle(let delay):
            metrics?.publishThrottled.labels(channel, priority.rawValue).increment()
            metrics?.publishThrottleDelay.labels(channel, priority.rawValue).observe(
                delay.seconds)
            try await clock.sleep(for: delay)
            return delay
        case .shed(let retryAfter, let reason):
            metrics?.shed.labels(channel, priority.rawValue).increment()
            let error = BusError(
                .shed, "message on \(channel) was shed: \(reason)", retryAfter: retryAfter)
            let span = tracer.startSpan(
                "publish \(channel)", kind: .producer, parent: TracingContext.current,
                attributes: [
                    SpanAttributeName.system: .string(transport.system),
                    SpanAttributeName.operationName: .string("publish"),
                    SpanAttributeName.operationType: .string("send"),
                    SpanAttributeName.destination: .string(channel),
                    SpanAttributeName.priority: .string(priority.rawValue),
                ])
            span.addEvent(
                "sightline.shed",
                attributes: [
                    "sightline.shed.reason": .string(reason),
                    "sightline.shed.retry_after_seconds": .double(retryAfter.seconds),
                ])
            Self.end(span, failingWith: error)
            throw error
        }
    }
}
