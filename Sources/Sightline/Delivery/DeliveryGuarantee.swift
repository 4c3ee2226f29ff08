/// How a subscription trades duplicates against losses.
public enum DeliveryGuarantee: Hashable, Sendable {
    /// Acknowledged before the handler runs; one attempt; a failure is dead-lettered, never
    /// retried. A crash mid-handling loses the message.
    case atMostOnce
    /// Acknowledged after the handler succeeds; retried on failure. A crash or a redelivery
    /// may run the handler twice. The default.
    case atLeastOnce
    /// At least once, plus a check against the idempotency store: a message id already
    /// processed by the group within `window` is acknowledged without running the handler.
    case effectivelyOnce(window: Duration)
}

extension DeliveryGuarantee {
    /// Whether deliveries consult the idempotency store.
    var usesIdempotencyStore: Bool {
        guard case .effectivelyOnce = self else { return false }
        return true
    }
}
