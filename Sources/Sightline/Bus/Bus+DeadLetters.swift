import Foundation

extension Bus {
    /// The dead letters matching `filter`, oldest first.
    public func deadLetters(matching filter: DeadLetterFilter = .all) async throws
        -> [DeadLetter]
    {
        try await deadLetterStore.list(filter)
    }

    /// Sends a dead letter back to the subscriber group that failed it.
    ///
    /// The envelope keeps its id, starts again at attempt 1, and gains a span link to the
    /// trace context it was dead-lettered with (`sightline.link.reason` = `redrive`). The
    /// letter leaves the store only once its group holds the message again.
    ///
    /// - Throws: ``BusError`` `deadLetterNotFound`, `unknownGroup` when the group no longer
    ///   subscribes to the message's type, or what enqueueing threw; in every case the
    ///   letter stays in the store.
    public func redrive(id: MessageID, group: String) async throws {
        let letters = try await deadLetterStore.list(DeadLetterFilter(group: group))
        guard let letter = letters.first(where: { $0.id == id }) else {
            throw BusError(.deadLetterNotFound, "no dead letter \(id) for group \(group)")
        }
        try await redrive(letter)
    }

    /// Redrives every dead letter matching `filter`; returns how many were redriven.
    ///
    /// Stops at the first letter that cannot be redriven and throws its error; letters
    /// redriven before it stay redriven.
    @discardableResult
    public func redrive(matching filter: DeadLetterFilter) async throws -> Int {
        let letters = try await deadLetterStore.list(filter)
        for letter in letters {
            try await redrive(letter)
        }
        return letters.count
    }

    private func redrive(_ letter: DeadLetter) async throws {
        try checkIntake()
        let key = GroupKey(channel: letter.envelope.channel, group: letter.group)
        let subscription = routes.withLock { $0.subscriptions[key] }
        guard let subscription, subscription.handler(for: letter.envelope.messageType) != nil
        else {
            throw BusError(
                .unknownGroup,
                "group \(key) does not handle \(letter.envelope.messageType) any more")
        }

        var envelope = letter.envelope
        envelope.attempt = 1
        if let link = Self.redriveLink(from: letter) {
            envelope.links.append(link)
        }

        switch subscription.options.dispatch {
        case .queued:
            try await transport.enqueue(
                envelope, to: [key],
                whenFull: .wait(timeout: configuration.defaultFullQueueTimeout))
        case .inline:
            try await deliverInline(envelope, to: subscription)
        }
        _ = try await deadLetterStore.remove(id: letter.id, group: letter.group)
        metrics?.redriven.labels(key.channel, key.group).increment()
        await refreshDeadLetterDepth()
        logger.info(
            "dead letter redriven",
            [
                LogKey.channel: key.channel, LogKey.group: key.group,
                LogKey.messageID: letter.id.description,
            ])
    }

    /// A link to the span context the message was dead-lettered with, if it had a valid one.
    static func redriveLink(from letter: DeadLetter) -> SpanLink? {
        guard let header = letter.deadLetterTraceParent,
            let parent = TraceParent.parse(header)
        else { return nil }
        return SpanLink(
            traceID: parent.traceID, spanID: parent.parentID, flags: parent.flags,
            traceState: letter.envelope.traceState ?? "",
            attributes: [
                "sightline.link.reason": "redrive",
                "sightline.dead_letter.reason": letter.reason.rawValue,
            ])
    }
}
