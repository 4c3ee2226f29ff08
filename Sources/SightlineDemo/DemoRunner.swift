import Foundation
import Sightline

/// Progress of a running demo, reported a few times a second.
public struct DemoProgress: Sendable {
    public var ordersPublished: Int
    public var orders: Int
    public var currentDay: Int
    public var delivered: Int
    public var retries: Int
}

/// The order workflow on the CDNOW purchase log, in one process.
///
/// Each purchase becomes an `OrderPlaced` event, replayed in date order with compressed
/// time. Billing sends a `ReserveCredit` command keyed by customer; shipping and analytics
/// handle the event too. A seeded share of attempts fails transiently to exercise retries;
/// zero-value purchases fail validation and end in the dead-letter store.
public struct DemoRunner: Sendable {
    public var configuration: DemoConfiguration
    public var logger: Logger
    public var tracer: Tracer
    public var metrics: BusMetrics?

    public init(
        configuration: DemoConfiguration, logger: Logger = .standardError,
        tracer: Tracer = .disabled, metrics: BusMetrics? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.tracer = tracer
        self.metrics = metrics
    }

    public func run(
        progress: (@Sendable (DemoProgress) -> Void)? = nil
    ) async throws -> DemoSummary {
        let purchases = try PurchaseLog.read(
            path: configuration.ordersPath, limit: configuration.limit
        ).sorted { ($0.day, $0.index) < ($1.day, $1.index) }
        let ledger = DemoLedger(orderCount: purchases.count)
        let clock = SystemClock()
        let controller = try configuration.backPressurePolicy.map {
            try BackPressureController(policy: $0, logger: logger)
        }
        let bus = Bus(
            configuration: BusConfiguration(
                transport: configuration.engine?.transport,
                deadLetterStore: configuration.engine?.deadLetterStore, clock: clock,
                logger: logger, randomSeed: configuration.seed, tracer: tracer,
                metrics: metrics, admission: controller))
        if let engine = configuration.engine, engine.role != .all {
            return try await run(
                role: engine, purchases: purchases, bus: bus, ledger: ledger, clock: clock)
        }
        try await subscribe(bus: bus, ledger: ledger)
        let monitor = controller.map { BackPressure.start(bus: bus, controller: $0) }
        let reloader = controller.flatMap { controller in
            configuration.policyFile.map {
                PolicyReloader(path: $0, controller: controller, logger: logger)
            }
        }

        let reporter = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    report(makeProgress(ledger: ledger, purchases: purchases, day: nil))
                }
            }
        }
        let started = clock.now()
        try await replay(purchases, on: bus, ledger: ledger, clock: clock)
        monitor?.stop()
        reloader?.stop()
        let report = await bus.shutdown(deadline: .seconds(120))
        let duration = clock.now() - started
        reporter?.cancel()

        return try await summarize(
            purchases: purchases, ledger: ledger, bus: bus, report: report, duration: duration)
    }

    // MARK: Workflow

    func subscribe(bus: Bus, ledger: DemoLedger) async throws {
        let failures = FailureInjection(rate: configuration.failureRate, seed: configuration.seed)
        let retry = RetryPolicy(
            maximumAttempts: 8, baseDelay: .milliseconds(2), maximumDelay: .milliseconds(50))
        let groups: [(DemoGroup, Int)] = [(.billing, 4), (.shipping, 2), (.analytics, 1)]

        for (group, concurrency) in groups {
            let options = SubscriptionOptions(
                concurrency: concurrency, capacity: 4096, retry: retry)
            try await bus.subscribe(
                to: OrderPlaced.self, group: group.rawValue, options: options,
                upcasting: DemoSchemas.orderUpcasters
            ) { order, context in
                ledger.recordAttempt(context.attempt)
                try failures.check(order.orderIndex, group, context.attempt)
                if group == .billing {
                    let command = ReserveCredit(
                        orderIndex: order.orderIndex, customerID: order.customerID,
                        dollars: order.dollars, day: order.day)
                    try await bus.send(command)
                    ledger.recordPublished()
                }
                ledger.recordHandled(orderIndex: order.orderIndex, by: group)
                if group == .analytics && insightsEnabled {
                    let insight = OrderInsight(
                        orderIndex: order.orderIndex, source: "analytics", day: order.day,
                        dollars: order.dollars)
                    await DemoBackPressure.publish(
                        insight, producer: .analytics, priority: .low, on: bus, ledger: ledger)
                }
            }
        }

        let creditOptions = SubscriptionOptions(concurrency: 4, capacity: 4096, retry: retry)
        try await bus.handle(ReserveCredit.self, group: "credit", options: creditOptions) {
            command, context in
            ledger.recordAttempt(context.attempt)
            try failures.check(command.orderIndex, .credit, context.attempt)
            ledger.recordCredit(orderIndex: command.orderIndex, customerID: command.customerID)
            ledger.recordHandled(orderIndex: command.orderIndex, by: .credit)
            if insightsEnabled && command.dollars >= DemoBackPressure.billingInsightMinimum {
                let insight = OrderInsight(
                    orderIndex: command.orderIndex, source: "billing", day: command.day ?? 0,
                    dollars: command.dollars)
                await DemoBackPressure.publish(
                    insight, producer: .billing, priority: .high, on: bus, ledger: ledger)
            }
        }
        if insightsEnabled {
            try await DemoBackPressure.subscribeReporting(
                bus: bus, serviceTime: configuration.insightServiceTime, ledger: ledger)
        }
    }

    /// The insights flow shows in-process back-pressure; over a distributed engine it is
    /// off.
    // Not yet: the controller does not take lag reports from other processes, so a
    // distributed demo has no back-pressure to show.
    var insightsEnabled: Bool { configuration.engine == nil }

    /// Publishes the purchases in date order; with a speedup, each day's orders wait until
    /// that day comes on the compressed clock.
    func replay(
        _ purchases: [Purchase], on bus: Bus, ledger: DemoLedger, clock: SystemClock
    ) async throws {
        guard let firstDay = purchases.first?.day else { return }
        let origin = Self.dayNumber(firstDay)
        let started = clock.now()
        var currentDay = -1

        for purchase in purchases {
            if configuration.speedup > 0 && purchase.day != currentDay {
                currentDay = purchase.day
                let simulated = Double(Self.dayNumber(purchase.day) - origin) * 86_400
                let due = started + .seconds(simulated / configuration.speedup)
                let wait = due - clock.now()
                if wait > .zero { try await clock.sleep(for: wait) }
            }
            try await publishOrder(purchase, on: bus, ledger: ledger)
        }
    }

    // MARK: Summary

    func summarize(
        purchases: [Purchase], ledger: DemoLedger, bus: Bus, report: ShutdownReport,
        duration: Duration
    ) async throws -> DemoSummary {
        let letters = try await bus.deadLetters()
        var byReason: [String: Int] = [:]
        var byGroup: [String: Int] = [:]
        for letter in letters {
            byReason[letter.reason.rawValue, default: 0] += 1
            byGroup[letter.group, default: 0] += 1
        }
        let snapshot = ledger.snapshot
        var delivered: [String: Int] = [:]
        for group in DemoGroup.allCases {
            delivered[group.rawValue] = snapshot.delivered[group] ?? 0
        }
        let handledTotal = delivered.values.reduce(0, +)
        let seconds = max(duration.seconds, 1e-9)

        return DemoSummary(
            orders: purchases.count,
            invalidOrders: purchases.filter { $0.dollars <= 0 }.count,
            published: snapshot.published, delivered: delivered, retries: snapshot.retries,
            deadLettered: DemoSummary.DeadLettered(
                count: letters.count, byReason: byReason, byGroup: byGroup),
            duplicates: snapshot.duplicates, orderViolations: snapshot.orderViolations,
            unfinished: report.unfinishedCount, durationSeconds: duration.seconds,
            messagesPerSecond: Double(handledTotal) / seconds,
            insights: DemoSummary.Insights(
                byOutcome: ledger.insights.byOutcome, reported: ledger.insights.reported,
                shedByMonth: ledger.shedByMonth),
            ordersByVersion: ordersByVersion(purchases),
            unreadableMessages: unreadableCount(purchases))
    }

    private func makeProgress(ledger: DemoLedger, purchases: [Purchase], day: Int?)
        -> DemoProgress
    {
        let snapshot = ledger.snapshot
        let orders = min(snapshot.published, purchases.count)
        return DemoProgress(
            ordersPublished: orders, orders: purchases.count,
            currentDay: day ?? purchases[max(0, min(orders, purchases.count) - 1)].day,
            delivered: snapshot.delivered.values.reduce(0, +), retries: snapshot.retries)
    }

    /// Days since 1970-01-01 for a `yyyymmdd` date (proleptic Gregorian calendar).
    static func dayNumber(_ day: Int) -> Int {
        var year = day / 10_000
        let month = day / 100 % 100
        let dayOfMonth = day % 100
        year -= month <= 2 ? 1 : 0
        let era = year / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + dayOfMonth - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// Decides, repeatably for a seed, which handler attempts fail transiently.
struct FailureInjection: Sendable {
    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String { "injected transient failure" }
    }

    var rate: Double
    var seed: UInt64

    func check(_ orderIndex: Int, _ group: DemoGroup, _ attempt: Int) throws {
        guard rate > 0 else { return }
        let groupSalt = UInt64(DemoGroup.allCases.firstIndex(of: group)! + 1)
        var generator = SplitMix64(
            seed: seed ^ UInt64(orderIndex) &* 0x9E37_79B9 ^ groupSalt << 48 ^ UInt64(attempt) << 56
        )
        if generator.nextUnit() < rate { throw InjectedFailure() }
    }
}
