import Foundation
import Sightline
import SightlineSQLite

/// The order workflow as a saga whose state lives in a SQLite store, so that a run stopped
/// at any point (even by SIGKILL) resumes where it stopped when started again on the same
/// store and ends with the same counts as an uninterrupted run.
///
/// Each purchase starts an `order` saga: accept the order (compensation: cancel it),
/// reserve its amount against the customer's credit limit (compensation: release it), then
/// schedule shipping, which fails for a seeded share of orders. A customer's limit is
/// derived from their purchase history: three quarters of everything they bought in the
/// replayed log, and at least $60, so that some reservations are refused.
///
/// Orders are replayed one saga at a time, so the credit decisions, and with them the final
/// counts, depend only on the log, the limit and the seed. Participants write their effect,
/// record the command in the inbox and stage their answer in one unit of work.
public struct SagaDemoRunner: Sendable {
    public var configuration: DemoConfiguration
    public var storePath: String
    /// The share of orders whose shipping fails. Default: 0.1.
    public var shippingFailureRate: Double = 0.1
    public var logger: Logger
    public var tracer: Tracer
    public var metrics: BusMetrics?
    /// Set by crash tests through `SIGHTLINE_DEMO_KILL_AT`.
    var environment: [String: String]

    public init(
        configuration: DemoConfiguration, storePath: String, logger: Logger = .standardError,
        tracer: Tracer = .disabled, metrics: BusMetrics? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.configuration = configuration
        self.storePath = storePath
        self.logger = logger
        self.tracer = tracer
        self.metrics = metrics
        self.environment = environment
    }

    public func run() async throws -> SagaDemoSummary {
        let purchases = try PurchaseLog.read(
            path: configuration.ordersPath, limit: configuration.limit
        ).sorted { ($0.day, $0.index) < ($1.day, $1.index) }
        let started = ContinuousClock.now
        let store = try await SQLiteStore.open(
            path: storePath, configuration: SQLiteStoreConfiguration(logger: logger))
        do {
            let summary = try await run(purchases, store: store, started: started)
            await store.close()
            return summary
        } catch {
            await store.close()
            throw error
        }
    }

    private func run(_ purchases: [Purchase], store: SQLiteStore, started: ContinuousClock.Instant)
        async throws -> SagaDemoSummary
    {
        try await createTables(store)
        let deadLetters = SQLiteDeadLetterStore(store: store)
        let bus = Bus(
            configuration: BusConfiguration(
                deadLetterStore: deadLetters, logger: logger, randomSeed: configuration.seed,
                tracer: tracer, metrics: metrics))
        let crash = DemoCrashPoint(environment: environment)
        try await registerParticipants(
            bus: bus, store: store, limits: Self.creditLimits(purchases), crash: crash)
        let orchestrator = SagaOrchestrator(
            definition: Self.definition, store: store, bus: bus, tracer: tracer,
            metrics: try metrics.map { try SagaMetrics(registry: $0.registry) }, logger: logger)
        try await orchestrator.register(options: SubscriptionOptions(dispatch: .inline))
        let relay = OutboxRelay(
            store: store, bus: bus,
            metrics: try metrics.map { try OutboxMetrics(registry: $0.registry) },
            configuration: OutboxRelayConfiguration(logger: logger))

        // Letters an operator marked with `sightline dlq redrive`, then what a stopped run
        // left in the outbox.
        _ = try await deadLetters.redriveRequested(using: bus)
        try await drain(relay)
        let resumedAt = try await position(store)

        for offset in resumedAt..<purchases.count {
            let purchase = purchases[offset]
            let data = SagaOrderData(
                orderIndex: purchase.index, customerID: purchase.customerID,
                cents: Int((purchase.dollars * 100).rounded()))
            try await orchestrator.start(id: "order-\(purchase.index)", data: data)
            crash.reach("order-placed")
            try await store.unitOfWork { uow in
                try uow.execute(
                    "UPDATE demo_progress SET position = ? WHERE id = 1",
                    [.integer(Int64(offset + 1))])
            }
            try await drain(relay)
        }
        try await orchestrator.checkTimeouts()
        try await drain(relay)
        _ = await bus.shutdown(deadline: .seconds(10))

        return try await summarize(
            store: store, orchestrator: orchestrator, orders: purchases.count,
            resumedAt: resumedAt, seconds: (ContinuousClock.now - started).seconds)
    }

    // MARK: The saga

    static let definition = SagaDefinition<SagaOrderData>(
        name: "order",
        steps: [
            SagaStep(
                name: "accept-order", command: { AcceptOrder(order: $0) },
                completedBy: [OrderAccepted.self], timeout: .seconds(30),
                compensation: { CancelOrder(order: $0) }),
            SagaStep(
                name: "reserve-credit", command: { ReserveOrderCredit(order: $0) },
                completedBy: [CreditReserved.self], failedBy: [CreditRefused.self],
                timeout: .seconds(30), compensation: { ReleaseCredit(order: $0) }),
            SagaStep(
                name: "schedule-shipping", command: { ScheduleShipping(order: $0) },
                completedBy: [ShippingScheduled.self], failedBy: [ShippingFailed.self],
                timeout: .seconds(30)),
        ])

    // MARK: Participants

    private func registerParticipants(
        bus: Bus, store: SQLiteStore, limits: [String: Int], crash: DemoCrashPoint
    ) async throws {
        let inline = SubscriptionOptions(dispatch: .inline)
        try await bus.handle(AcceptOrder.self, group: "orders", options: inline) {
            command, context in
            let answer = try bus.envelope(for: OrderAccepted(orderIndex: command.order.orderIndex))
            try await store.unitOfWork(handling: context) { uow in
                try uow.execute(
                    "INSERT INTO demo_orders (order_index, customer, cents, status) "
                        + "VALUES (?, ?, ?, 'accepted')",
                    [
                        .integer(Int64(command.order.orderIndex)),
                        .text(command.order.customerID), .integer(Int64(command.order.cents)),
                    ])
                try uow.stage(answer)
            }
        }
        try await bus.handle(CancelOrder.self, group: "orders", options: inline) {
            command, context in
            try await store.unitOfWork(handling: context) { uow in
                try uow.execute(
                    "UPDATE demo_orders SET status = 'cancelled' WHERE order_index = ?",
                    [.integer(Int64(command.order.orderIndex))])
            }
        }
        try await bus.handle(ReserveOrderCredit.self, group: "credit", options: inline) {
            command, context in
            let order = command.order
            let reserved = try bus.envelope(for: CreditReserved(orderIndex: order.orderIndex))
            let refused = try bus.envelope(for: CreditRefused(orderIndex: order.orderIndex))
            let limit = limits[order.customerID] ?? 0
            try await store.unitOfWork(handling: context) { uow in
                let current =
                    try uow.query(
                        "SELECT reserved FROM demo_credit WHERE customer = ?",
                        [.text(order.customerID)]
                    ).first?[0].integer ?? 0
                if current + Int64(order.cents) <= Int64(limit) {
                    try uow.execute(
                        """
                        INSERT INTO demo_credit (customer, reserved) VALUES (?, ?)
                        ON CONFLICT (customer) DO UPDATE SET reserved = excluded.reserved
                        """, [.text(order.customerID), .integer(current + Int64(order.cents))])
                    try uow.stage(reserved)
                } else {
                    try uow.stage(refused)
                }
                crash.reach("credit-before-commit")
            }
            crash.reach("credit-after-commit")
        }
        try await bus.handle(ReleaseCredit.self, group: "credit", options: inline) {
            command, context in
            let order = command.order
            try await store.unitOfWork(handling: context) { uow in
                try uow.execute(
                    "UPDATE demo_credit SET reserved = reserved - ? WHERE customer = ?",
                    [.integer(Int64(order.cents)), .text(order.customerID)])
                crash.reach("compensation-before-commit")
            }
            crash.reach("compensation-after-commit")
        }
        let seed = configuration.seed
        let rate = shippingFailureRate
        try await bus.handle(ScheduleShipping.self, group: "shipping", options: inline) {
            command, context in
            let index = command.order.orderIndex
            let fails = Self.unit(seed: seed, index: index) < rate
            let answer =
                fails
                ? try bus.envelope(for: ShippingFailed(orderIndex: index))
                : try bus.envelope(for: ShippingScheduled(orderIndex: index))
            try await store.unitOfWork(handling: context) { uow in
                try uow.execute(
                    "UPDATE demo_orders SET status = ? WHERE order_index = ?",
                    [.text(fails ? "shipping_failed" : "shipped"), .integer(Int64(index))])
                try uow.stage(answer)
            }
            crash.reach("shipping-after-commit")
        }
    }

    /// Each customer's limit in cents: three quarters of their purchases, at least $60.
    static func creditLimits(_ purchases: [Purchase]) -> [String: Int] {
        var totals: [String: Int] = [:]
        for purchase in purchases {
            totals[purchase.customerID, default: 0] += Int((purchase.dollars * 100).rounded())
        }
        return totals.mapValues { max(6000, $0 * 3 / 4) }
    }

    /// A number in 0..<1 fixed by the seed and the order (SplitMix64's finaliser).
    static func unit(seed: UInt64, index: Int) -> Double {
        var value = seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return Double(value >> 11) / Double(1 << 53)
    }

    // MARK: Store

    private func createTables(_ store: SQLiteStore) async throws {
        try await store.unitOfWork { uow in
            try uow.execute(
                """
                CREATE TABLE IF NOT EXISTS demo_orders (
                    order_index INTEGER PRIMARY KEY, customer TEXT NOT NULL,
                    cents INTEGER NOT NULL, status TEXT NOT NULL)
                """)
            try uow.execute(
                """
                CREATE TABLE IF NOT EXISTS demo_credit (
                    customer TEXT PRIMARY KEY, reserved INTEGER NOT NULL)
                """)
            try uow.execute(
                """
                CREATE TABLE IF NOT EXISTS demo_progress (
                    id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL)
                """)
            try uow.execute("INSERT OR IGNORE INTO demo_progress (id, position) VALUES (1, 0)")
        }
    }

    private func position(_ store: SQLiteStore) async throws -> Int {
        try await store.unitOfWork { uow in
            Int(
                try uow.query("SELECT position FROM demo_progress WHERE id = 1").first?[0]
                    .integer ?? 0)
        }
    }

    private func drain(_ relay: OutboxRelay) async throws {
        while try await relay.publishPending() > 0 {}
    }

    private func summarize(
        store: SQLiteStore, orchestrator: SagaOrchestrator<SagaOrderData>, orders: Int,
        resumedAt: Int, seconds: Double
    ) async throws -> SagaDemoSummary {
        let counts = try await orchestrator.counts()
        let rows = try await store.unitOfWork { uow in
            (
                try uow.query("SELECT status, count(*) FROM demo_orders GROUP BY status"),
                try uow.query("SELECT coalesce(sum(reserved), 0) FROM demo_credit"),
                try uow.query(
                    "SELECT count(*) FROM saga_instances WHERE reason LIKE '%reserve-credit%'"),
                try uow.query(
                    "SELECT count(*) FROM saga_instances WHERE reason LIKE '%schedule-shipping%'")
            )
        }
        var byStatus: [String: Int] = [:]
        for row in rows.0 {
            byStatus[row[0].text ?? "?"] = Int(row[1].integer ?? 0)
        }
        return SagaDemoSummary(
            orders: orders, sagasStarted: counts.values.reduce(0, +),
            sagasCompleted: counts[.completed] ?? 0, sagasCompensated: counts[.compensated] ?? 0,
            sagasRunning: counts[.running] ?? 0,
            creditRefused: Int(rows.2.first?[0].integer ?? 0),
            shippingFailed: Int(rows.3.first?[0].integer ?? 0), ordersByStatus: byStatus,
            creditReservedCents: Int(rows.1.first?[0].integer ?? 0), resumedAt: resumedAt,
            durationSeconds: seconds)
    }
}
