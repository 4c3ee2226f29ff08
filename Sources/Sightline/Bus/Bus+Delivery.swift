import Foundation

/// What one run of a handler came to.
enum AttemptResult {
    case handled(reply: Data?)
    /// `permanentReason` is set when retrying cannot help.
    case failed(any Error, permanentReason: DeadLetterReason?)
}

extension Bus {
    /// Handles one delivery from a queued group's transport and settles it exactly once:
    /// acknowledged, retried after a backoff, or dead-lettered and acknowledged.
    ///
    /// A delivery whose handler succeeded is not acknowledged here: it returns true, and the
    /// worker acknowledges its whole batch at once, which frees queue slots (and wakes a
    /// waiting publisher) once per batch instead of once per message.
    ///
    /// - Returns: true when the caller must acknowledge the delivery.
    func deliverQueued(_ delivery: TransportDelivery, to subscription: Subscription) async
        -> Bool
    {
        let envelope = delivery.envelope
        let options = subscription.options

        let span = startProcessSpan(for: envelope, in: subscription)
        if let expiresAt = envelope.expiresAt, expiresAt < clock.wallTime() {
            let error = BusError(.handlerFailed, "time to live ended at \(expiresAt)")
            await deadLetterQueued(
                delivery, subscription, reason: .expired, error: error, attempts: 0, span: span)
            return false
        }
        if envelope.attempt > options.retry.maximumAttempts {
            // An engine that counts deliveries redelivers once more when a worker died during
            // the last attempt; that delivery is not run again.
            let error = BusError(
                .handlerFailed,
                "delivery \(envelope.attempt) exceeds \(options.retry.maximumAttempts) attempts")
            await deadLetterQueued(
                delivery, subscription, reason: .attemptsExhausted, error: error,
                attempts: options.retry.maximumAttempts, span: span)
            return false
        }
        // The store is asked only when the group uses it: an async call per delivery saved.
        if options.delivery.usesIdempotencyStore, await isDuplicate(envelope, in: subscription) {
            subscription.metrics?.metrics.deduplicated.labels(
                subscription.key.channel, subscription.key.group
            ).increment()
            span.addEvent("sightline.duplicate_skipped")
            span.end()
            transport.acknowledge(delivery)
            return false
        }
        if options.delivery == .atMostOnce {
            transport.acknowledge(delivery)
        }

        switch await runHandler(envelope, in: subscription, span: span) {
        case .handled(let reply):
            subscription.forgetFailures(of: envelope.id)
            if options.delivery.usesIdempotencyStore {
                await recordProcessed(envelope, in: subscription)
            }
            if let reply { sendReply(to: envelope, payload: reply, isError: false) }
            span.end()
            return options.delivery != .atMostOnce

        case .failed(let error, let permanentReason):
            let canRetry =
                permanentReason == nil && options.delivery != .atMostOnce
                && options.retry.allowsRetry(afterAttempt: envelope.attempt)
            guard canRetry else {
                await deadLetterQueued(
                    delivery, subscription, reason: permanentReason ?? .attemptsExhausted,
                    error: error, attempts: envelope.attempt, span: span)
                return false
            }
            _ = subscription.recordFailure(of: envelope.id, at: clock.wallTime())
            let delay = options.retry.delay(
                afterAttempt: envelope.attempt, unit: nextJitterUnit())
            span.addEvent(
                "sightline.retry_scheduled",
                attributes: [
                    SpanAttributeName.attempt: .int(Int64(envelope.attempt + 1)),
                    SpanAttributeName.retryDelay: .double(delay.seconds),
                ])
            Self.end(span, failingWith: error)
            subscription.metrics?.recordRetry(nextAttempt: envelope.attempt + 1)
            logger.debug(
                "handler failed; retrying",
                [
                    LogKey.channel: subscription.key.channel, LogKey.group: subscription.key.group,
                    LogKey.messageID: envelope.id.description,
                    LogKey.attempt: String(envelope.attempt), LogKey.delay: "\(delay)",
                    LogKey.error: "\(error)",
                ])
            transport.retry(delivery, after: delay)
            return false
        }
    }

    /// Runs an inline group's handler in the caller's task, retrying with backoff; the last
    /// error reaches the caller instead of the dead-letter store.
    func deliverInline(_ envelope: Envelope, to subscription: Subscription) async throws {
        var envelope = envelope
        let options = subscription.options
        if await isDuplicate(envelope, in: subscription) { return }

        while true {
            let span = startProcessSpan(for: envelope, in: subscription)
            switch await runHandler(envelope, in: subscription, span: span) {
            case .handled(let reply):
                subscription.forgetFailures(of: envelope.id)
                await recordProcessed(envelope, in: subscription)
                if let reply { sendReply(to: envelope, payload: reply, isError: false) }
                span.end()
                return

            case .failed(let error, let permanentReason):
                let canRetry =
                    permanentReason == nil && options.delivery != .atMostOnce
                    && options.retry.allowsRetry(afterAttempt: envelope.attempt)
                Self.end(span, failingWith: error)
                guard canRetry else {
                    throw BusError(
                        .handlerFailed,
                        "group \(subscription.key) failed \(envelope.messageType) "
                            + "\(envelope.id) after \(envelope.attempt) attempt(s): \(error)")
                }
                let delay = options.retry.delay(
                    afterAttempt: envelope.attempt, unit: nextJitterUnit())
                try await clock.sleep(for: delay)
                envelope.attempt += 1
            }
        }
    }

    /// Runs the group's handler for the envelope's type with the handler's message and trace
    /// context set. The caller ends `span`.
    func runHandler(_ envelope: Envelope, in subscription: Subscription, span: Span) async
        -> AttemptResult
    {
        guard let handler = subscription.handler(for: envelope.messageType) else {
            let error = BusError(
                .noHandler,
                "group \(subscription.key) has no handler for \(envelope.messageType)")
            return .failed(error, permanentReason: .noHandler)
        }

        let spanContext = span.context.isValid ? span.context : nil
        var context = MessageContext(
            envelope: envelope, group: subscription.key.group, spanContext: spanContext)
        context.processingSpan = span
        let metrics = subscription.metrics
        metrics?.delivered.increment()
        metrics?.inFlight.increment()
        let started = metrics == nil ? .zero : clock.now()

        let result: AttemptResult
        do {
            let reply = try await MessageContext.$current.withValue(context) {
                // Without a span context (tracing off, no incoming trace) there is nothing to
                // set: each task-local binding is an allocation per delivery.
                if spanContext == nil, TracingContext.current == nil {
                    return try await handler(envelope, context)
                }
                return try await TracingContext.$current.withValue(spanContext) {
                    try await handler(envelope, context)
                }
            }
            result = .handled(reply: reply)
        } catch let error as PayloadDecodingError {
            result = .failed(error, permanentReason: .undecodable)
        } catch let error as MessageContractError {
            result = .failed(error, permanentReason: error.deadLetterReason)
        } catch let error as InvalidMessageError {
            result = .failed(error, permanentReason: .invalidMessage)
        } catch let error as PermanentError {
            result = .failed(error, permanentReason: .permanentFailure)
        } catch {
            result = .failed(error, permanentReason: nil)
        }

        metrics?.inFlight.decrement()
        if let metrics {
            let errorType: String? =
                switch result {
                case .handled: nil
                case .failed(let error, _): Self.errorType(error)
                }
            metrics.recordAttempt(
                duration: clock.now() - started, errorType: errorType, span: span)
        }
        return result
    }

    // MARK: Effectively-once

    private func isDuplicate(_ envelope: Envelope, in subscription: Subscription) async -> Bool {
        guard case .effectivelyOnce(let window) = subscription.options.delivery else {
            return false
        }
        do {
            let seen = try await idempotencyStore.contains(
                id: envelope.id, group: subscription.key.group, window: window,
                now: clock.now())
            if seen {
                logger.debug(
                    "duplicate acknowledged without running the handler",
                    [
                        LogKey.group: subscription.key.group,
                        LogKey.messageID: envelope.id.description,
                    ])
            }
            return seen
        } catch {
            // Without the store the bus cannot tell; handling again is the at-least-once
            // fallback, and the warning says so.
            logger.warning(
                "idempotency store unavailable; handling the message without the check",
                [LogKey.messageID: envelope.id.description, LogKey.error: "\(error)"])
            return false
        }
    }

    /// Records a handled message in the idempotency store of an effectively-once group.
    private func recordProcessed(_ envelope: Envelope, in subscription: Subscription) async {
        guard case .effectivelyOnce = subscription.options.delivery else { return }
        do {
            try await idempotencyStore.record(
                id: envelope.id, group: subscription.key.group, now: clock.now())
        } catch {
            logger.warning(
                "idempotency store unavailable; a duplicate of this message would run again",
                [LogKey.messageID: envelope.id.description, LogKey.error: "\(error)"])
        }
    }

    // MARK: Dead letters

    private func deadLetterQueued(
        _ delivery: TransportDelivery, _ subscription: Subscription, reason: DeadLetterReason,
        error: any Error, attempts: Int, span: Span
    ) async {
        // A letter keeps bytes: a payload still held as a value is encoded now.
        var envelope = delivery.envelope
        var errorDescription = "\(error)"
        do {
            try envelope.body.encode()
        } catch let encodingError {
            errorDescription += "; the payload does not encode: \(encodingError)"
        }
        let now = clock.wallTime()
        span.setAttribute(SpanAttributeName.deadLetterReason, .string(reason.rawValue))
        span.addEvent(
            "sightline.dead_lettered",
            attributes: [
                SpanAttributeName.deadLetterReason: .string(reason.rawValue),
                SpanAttributeName.attempt: .int(Int64(attempts)),
            ])
        Self.end(span, failingWith: error)

        // The redrive links to the span in which the message was dead-lettered.
        let deadLetterContext =
            span.context.isValid ? TraceParent(span.context).headerValue : envelope.traceParent
        let letter = DeadLetter(
            envelope: envelope, group: subscription.key.group, reason: reason,
            errorDescription: errorDescription, attempts: attempts,
            firstFailureAt: subscription.recordFailure(of: envelope.id, at: now),
            lastFailureAt: now, deadLetterTraceParent: deadLetterContext)

        do {
            try await deadLetterStore.add(letter)
        } catch {
            // Keep the message rather than lose it: try again after the longest backoff.
            logger.error(
                "dead-letter store refused a letter; the message stays queued",
                [LogKey.messageID: envelope.id.description, LogKey.error: "\(error)"])
            transport.retry(delivery, after: subscription.options.retry.maximumDelay)
            return
        }

        subscription.forgetFailures(of: envelope.id)
        subscription.metrics?.recordDeadLetter(reason: reason)
        await refreshDeadLetterDepth()
        logger.info(
            "message dead-lettered",
            [
                LogKey.channel: subscription.key.channel, LogKey.group: subscription.key.group,
                LogKey.messageID: envelope.id.description,
                LogKey.messageType: envelope.messageType, LogKey.reason: reason.rawValue,
                LogKey.attempt: String(attempts),
            ])
        if envelope.replyTo != nil {
            let failure = ReplyError(error: "\(reason): \(error)")
            let payload = (try? JSONEncoder().encode(failure)) ?? Data()
            sendReply(to: envelope, payload: payload, isError: true)
        }
        if subscription.options.delivery != .atMostOnce {
            transport.acknowledge(delivery)
        }
    }
}
