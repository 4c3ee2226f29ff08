/// What a demo run did, printed at the end (as one JSON object with `--json`).
public struct DemoSummary: Encodable, Sendable {
    public struct DeadLettered: Codable, Sendable {
        public var count: Int
        public var byReason: [String: Int]
        public var byGroup: [String: Int]

        enum CodingKeys: String, CodingKey {
            case count
            case byReason = "by_reason"
            case byGroup = "by_group"
        }
    }

    public var orders: Int
    /// Orders with a zero dollar value, which every group must dead-letter.
    public var invalidOrders: Int
    /// Envelopes published: one event per order plus one command per billed order.
    public var published: Int
    /// Successful handlings per subscriber group.
    public var delivered: [String: Int]
    /// Deliveries that were retries of a failed attempt.
    public var retries: Int
    public var deadLettered: DeadLettered
    /// Orders a group handled more than once (must be 0).
    public var duplicates: Int
    /// Credit reservations handled out of order for their customer (must be 0).
    public var orderViolations: Int
    /// Messages still queued when the bus stopped (0 after a complete run).
    public var unfinished: Int
    public var durationSeconds: Double
    /// Successful handlings per second over the run.
    public var messagesPerSecond: Double
    /// Orders published per `OrderPlaced` schema version ("1", "2").
    /// Insights about orders (billing's at high priority, analytics' at low) and what the
    /// back-pressure controller made of them.
    public struct Insights: Encodable, Sendable {
        /// Counts by outcome (`published`, `shed`, `refused`), then by priority.
        public var byOutcome: [String: [String: Int]]
        /// Insights the reporting consumer handled.
        public var reported: Int
        /// Shed insights by the month of their order (`yyyy-mm`).
        public var shedByMonth: [String: Int]

        enum CodingKeys: String, CodingKey {
            case byOutcome = "by_outcome"
            case reported
            case shedByMonth = "shed_by_month"
        }
    }

    public var insights = Insights(byOutcome: [:], reported: 0, shedByMonth: [:])
    public var ordersByVersion: [String: Int] = [:]
    /// Deliberately unreadable messages (a future version) published; each order group
    /// dead-letters every one as `unknown_version`.
    public var unreadableMessages: Int = 0

    enum CodingKeys: String, CodingKey {
        case orders
        case invalidOrders = "invalid_orders"
        case published
        case delivered
        case retries
        case deadLettered = "dead_lettered"
        case duplicates
        case orderViolations = "order_violations"
        case unfinished
        case durationSeconds = "duration_seconds"
        case messagesPerSecond = "messages_per_second"
        case complete
        case consistent
        case insights
        case ordersByVersion = "orders_by_version"
        case unreadableMessages = "unreadable_messages"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(orders, forKey: .orders)
        try container.encode(invalidOrders, forKey: .invalidOrders)
        try container.encode(published, forKey: .published)
        try container.encode(delivered, forKey: .delivered)
        try container.encode(retries, forKey: .retries)
        try container.encode(deadLettered, forKey: .deadLettered)
        try container.encode(duplicates, forKey: .duplicates)
        try container.encode(orderViolations, forKey: .orderViolations)
        try container.encode(unfinished, forKey: .unfinished)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(messagesPerSecond, forKey: .messagesPerSecond)
        try container.encode(insights, forKey: .insights)
        try container.encode(ordersByVersion, forKey: .ordersByVersion)
        try container.encode(unreadableMessages, forKey: .unreadableMessages)
        try container.encode(isComplete, forKey: .complete)
        try container.encode(isConsistent, forKey: .consistent)
    }

    /// The run finished: nothing was left queued when the bus stopped. Dead letters do not
    /// make a run incomplete.
    public var isComplete: Bool { unfinished == 0 }

    /// Every valid order reached every group exactly once, in order per customer, and every
    /// invalid one was dead-lettered by each of the three order groups. High failure rates
    /// can make a complete run inconsistent, when retries run out.
    public var isConsistent: Bool {
        let valid = orders - invalidOrders
        let groupsComplete = [DemoGroup.billing, .shipping, .analytics, .credit].allSatisfy {
            (delivered[$0.rawValue] ?? 0) == valid
        }
        return isComplete && groupsComplete && duplicates == 0 && orderViolations == 0
            && (deadLettered.byReason["invalid_message"] ?? 0) == invalidOrders * 3
    }
}
