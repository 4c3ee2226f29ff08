/// Decides, for each message a producer offers, whether the bus takes it now.
///
/// The bus asks before it builds and enqueues an envelope, so implementations run on the
/// publishing task's hot path: they MUST NOT block or wait, and should take well under a
/// microsecond. They are called concurrently from many tasks.
public protocol AdmissionControl: Sendable {
    /// The decision for one message.
    ///
    /// - Parameters:
    ///   - channel: the channel the message is published on.
    ///   - priority: the message's priority (after any per-call override).
    ///   - producer: the producer's name from ``PublishOptions/producer``, if it gave one.
    ///   - timeToLive: the message's time to live; a throttle delay never exceeds half of it,
    ///     and a message living under two ticks is shed rather than delayed.
    func decide(channel: String, priority: Priority, producer: String?, timeToLive: Duration?)
        -> AdmissionDecision
}

/// What the bus does with one offered message.
public enum AdmissionDecision: Hashable, Sendable {
    /// Enqueue it now.
    case admit
    /// Wait `delay` on the bus's clock, then enqueue it.
    case throttle(delay: Duration)
    /// Refuse it; the caller may offer it again after `retryAfter`.
    case shed(retryAfter: Duration, reason: String)
}
