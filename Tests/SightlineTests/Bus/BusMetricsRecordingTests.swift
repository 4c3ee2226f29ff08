import Foundation
import Sightline
import SightlineTestKit
import Synchronization
import Testing

@Suite struct BusMetricsRecordingTests {
    let registry = MetricsRegistry()
    let metrics: BusMetrics
    let bus: Bus

    init() throws {
        metrics = try BusMetrics(registry: registry)
        bus = Bus(
            configuration: BusConfiguration(logger: .disabled, randomSeed: 5, metrics: metrics))
    }

    /// The value of one scalar series, or the count of one histogram series.
    private func value(_ name: String, _ labels: [String] = []) -> Double? {
        let family = registry.collect().first { $0.name == name }
        let series = family?.series.first { $0.labelValues == labels }
        switch series?.value {
        case .scalar(let value): return value
        case .histogram(let histogram): return Double(histogram.count)
        case nil: return nil
        }
    }

    @Test func publishRetryAndDeadLetter_areCountedWithBoundedLabels() async throws {
        let policy = RetryPolicy(maximumAttempts: 2, baseDelay: .zero, maximumDelay: .zero)
        try await bus.subscribe(
            to: OrderPlaced.self, group: "billing", options: SubscriptionOptions(retry: policy)
        ) { event, _ in
            if event.orderID == 2 { throw TransientError() }
        }

        for orderID in 1...3 {
            try await bus.publish(OrderPlaced(orderID: orderID, customer: "c", amount: 1))
        }
        try await bus.publish(OrderPlaced(orderID: 4, customer: "c", amount: 0))
        _ = await bus.shutdown(deadline: .seconds(10))

        let group = ["orders", "billing"]
        #expect(
            value("sightline_messages_published_total", ["orders", "test.OrderPlaced", "normal"])
                == 4)
        #expect(value("sightline_messages_delivered_total", group) == 5)
        #expect(value("sightline_messages_acknowledged_total", group) == 2)
        #expect(value("sightline_messages_failed_total", group + ["TransientError"]) == 2)
        #expect(value("sightline_messages_failed_total", group + ["invalid_message"]) == 1)
        #expect(value("sightline_retries_total", group + ["2"]) == 1)
        #expect(value("sightline_dead_lettered_total", group + ["attempts_exhausted"]) == 1)
        #expect(value("sightline_dead_lettered_total", group + ["invalid_message"]) == 1)
        #expect(value("sightline_dead_letter_depth") == 2)
        #expect(value("sightline_handlers_in_flight", group) == 0)
        #expect(
            value(
                "messaging_client_sent_messages_total", ["sightline", "publish", "orders", ""]) == 4
        )
        #expect(
            value(
                "messaging_process_duration_seconds",
                ["sightline", "process", "orders", "billing", ""]) == 2)
        #expect(value("sightline_build_info", [SightlineVersion.current]) == 1)
    }

    @Test func lagGauges_areReadAtScrapeTimeEvenWhileIdle() async throws {
        let gate = Gate()
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(capacity: 8)) { _, _ in
            await gate.wait()
        }
        for orderID in 1...3 {
            try await bus.send(ChargeCard(orderID: orderID))
        }
        #expect(await eventually { self.bus.lagReports().values.first?.inFlight == 1 })

        let group = ["test.ChargeCard", "handler"]
        #expect(value("sightline_consumer_lag_messages", group) == 3)
        #expect(value("sightline_queue_depth", group) == 2)
        #expect(value("sightline_queue_capacity", group) == 8)
        #expect((value("sightline_consumer_lag_seconds", group) ?? -1) >= 0)

        await gate.open()
        _ = await bus.shutdown(deadline: .seconds(5))
        #expect(value("sightline_consumer_lag_messages", group) == 0)
    }

    @Test func redrive_countsAndLowersTheDepth() async throws {
        let healthy = Atomic<Bool>(false)
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(retry: .none)) {
            _, _ in
            if !healthy.load(ordering: .relaxed) { throw PermanentError(TransientError()) }
        }
        try await bus.send(ChargeCard(orderID: 1))
        #expect(await eventually { self.value("sightline_dead_letter_depth") == 1 })

        healthy.store(true, ordering: .relaxed)
        try await bus.redrive(matching: .all)
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(value("sightline_redriven_total", ["test.ChargeCard", "handler"]) == 1)
        #expect(value("sightline_dead_letter_depth") == 0)
    }
}
