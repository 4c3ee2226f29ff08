/// What a saga demo run (`sightline demo --store PATH`) ends with: counts read back from
/// the store, so a resumed run reports the whole workflow, not only its own part.
public struct SagaDemoSummary: Codable, Sendable, Hashable {
    /// Purchases replayed.
    public var orders: Int
    public var sagasStarted: Int
    public var sagasCompleted: Int
    public var sagasCompensated: Int
    /// Sagas neither completed nor compensated; 0 after a finished run.
    public var sagasRunning: Int
    /// Sagas compensated because the credit reservation was refused.
    public var creditRefused: Int
    /// Sagas compensated because shipping failed.
    public var shippingFailed: Int
    /// Order rows by status: `shipped`, `cancelled`, `accepted`, `shipping_failed`.
    public var ordersByStatus: [String: Int]
    /// Credit still reserved across customers: the sum of the shipped orders' amounts.
    public var creditReservedCents: Int
    /// The replay position this run started from (0 for a fresh store).
    public var resumedAt: Int
    public var durationSeconds: Double

    enum CodingKeys: String, CodingKey {
        case orders
        case sagasStarted = "sagas_started"
        case sagasCompleted = "sagas_completed"
        case sagasCompensated = "sagas_compensated"
        case sagasRunning = "sagas_running"
        case creditRefused = "credit_refused"
        case shippingFailed = "shipping_failed"
        case ordersByStatus = "orders_by_status"
        case creditReservedCents = "credit_reserved_cents"
        case resumedAt = "resumed_at"
        case durationSeconds = "duration_seconds"
    }

    /// True when every order's saga ended.
    public var isComplete: Bool { sagasStarted == orders && sagasRunning == 0 }

    /// A few lines for people.
    public var text: String {
        let statuses = ordersByStatus.keys.sorted().map { "\($0) \(ordersByStatus[$0]!)" }
        return """
            Sightline saga demo: \(orders) orders (resumed at \(resumedAt))
              sagas           \(sagasStarted) started, \(sagasCompleted) completed, \
            \(sagasCompensated) compensated (\(creditRefused) credit refused, \
            \(shippingFailed) shipping failed), \(sagasRunning) running
              orders          \(statuses.joined(separator: ", "))
              credit held     \(creditReservedCents) cents
              complete        \(isComplete ? "yes" : "no")
            """
    }
}
