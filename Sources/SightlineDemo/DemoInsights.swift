import Sightline
import Synchronization

/// What the reporting service learns about an order. Two producers publish insights on one
/// channel: billing (high priority, for orders of $60 or more it reserved credit for) and
/// analytics (low priority, one per order). The reporting consumer is slow, like a
/// reporting database, so the January-March 1997 burst overloads the channel and the
/// back-pressure controller sheds the analytics producer while billing's insights go through.
public struct OrderInsight: Event {
    public static let messageType = "demo.OrderInsight"
    public static let channel = "insights"

    public var orderIndex: Int
    public var source: String
    public var day: Int
    public var dollars: Double
}

/// The demo's back-pressure settings.
public enum DemoBackPressure {
    /// Billing reports orders from this amount up.
    static let billingInsightMinimum = 60.0

    /// The policy used when no policy file is given: a 100 ms lag target on the insights
    /// channel; other channels get a target of an hour, so that the order workflow itself is
    /// never regulated. Priorities come with the messages: billing's high, analytics' low.
    public static let standardPolicy = BackPressurePolicy(
        defaultLagTarget: .seconds(3600),
        channels: ["insights": .init(lagTarget: .milliseconds(100))])

    /// Each producing service runs this many instances; the controller hashes producer
    /// names into cohorts, so that under pressure some instances are shed and others not.
    static let instances = 16

    /// Publishes an insight; a shed or full-queue refusal is counted, never an error of the
    /// handler that publishes it (an insight is worth less than the order it describes).
    static func publish(
        _ insight: OrderInsight, producer: DemoGroup, priority: Priority, on bus: Bus,
        ledger: DemoLedger
    ) async {
        let instance = insight.orderIndex % instances
        let options = PublishOptions(
            priority: priority, whenFull: .fail, producer: "\(producer.rawValue)-\(instance)")
        do {
            try await bus.publish(insight, options: options)
            ledger.recordInsight(priority: priority, outcome: .published, day: insight.day)
        } catch let error as BusError where error.code == .shed {
            ledger.recordInsight(priority: priority, outcome: .shed, day: insight.day)
        } catch {
            ledger.recordInsight(priority: priority, outcome: .refused, day: insight.day)
        }
    }

    /// The reporting consumer: takes `serviceTime` per insight, like a slow store would.
    /// Sleeps shorter than the timer's resolution would be much too long, so the time owed
    /// is added up and slept in steps of at least two milliseconds.
    static func subscribeReporting(
        bus: Bus, serviceTime: Duration, ledger: DemoLedger
    ) async throws {
        let options = SubscriptionOptions(concurrency: 1, capacity: 2048)
        let owed = Mutex(Duration.zero)
        try await bus.subscribe(to: OrderInsight.self, group: "reporting", options: options) {
            _, _ in
            let due = owed.withLock { owed -> Duration? in
                owed += serviceTime
                guard owed >= .milliseconds(2) else { return nil }
                defer { owed = .zero }
                return owed
            }
            if let due {
                let started = ContinuousClock.now
                try? await Task.sleep(for: due)
                // Oversleeping is paid back by the next insights.
                let over = (ContinuousClock.now - started) - due
                owed.withLock { $0 -= over }
            }
            ledger.recordInsightReported()
        }
    }
}
