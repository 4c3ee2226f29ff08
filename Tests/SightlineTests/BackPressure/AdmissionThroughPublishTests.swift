import Foundation
import Sightline
import SightlineTestKit
import Testing

/// Admission decisions reaching callers through the real `publish` and `send` API.
@Suite struct AdmissionThroughPublishTests {
    let clock = ManualClock()
    let controller: BackPressureController
    let bus: Bus

    static let policy = BackPressurePolicy(
        channels: ["orders": .init(lagTarget: .seconds(1))],
        producers: [
            "analytics": .init(priority: .low, toleratesDelay: true, maxDelay: .seconds(2)),
            "batch": .init(priority: .low),
        ],
        rate: .init(smoothing: 1, trendTicks: 0),
        memory: .init(softLimitBytes: 1_000_000, hardLimitBytes: 2_000_000), cohorts: 1)

    init() throws {
        controller = try BackPressureController(policy: Self.policy)
        bus = Bus(
            configuration: BusConfiguration(
                clock: clock, logger: .disabled, randomSeed: 7, admission: controller))
    }

    /// Puts the `orders` channel `behind` seconds behind its one group, draining 100/s.
    /// The default demand (critical and high) uses up the whole admitted rate; low demand
    /// alone leaves low the highest priority over its share.
    func press(
        behind: Double, bytes: Int = 0, demand: [Priority: Int] = [.critical: 10, .high: 10]
    ) {
        for (priority, count) in demand {
            for _ in 0..<count {
                _ = controller.decide(
                    channel: "orders", priority: priority, producer: nil, timeToLive: nil)
            }
        }
        let report = LagReport(
            channel: "orders", group: "billing", waiting: Int(behind * 100),
            oldestAge: .seconds(behind), drainRate: 100, queuedBytes: bytes, at: clock.now())
        controller.ingest([report], at: clock.now())
    }

    func subscribe(_ recorder: Recorder<Int>) async throws {
        try await bus.subscribe(to: OrderPlaced.self, group: "billing") { event, _ in
            await recorder.append(event.orderID)
        }
    }

    @Test func publish_whenThrottled_waitsTheDelayThenDelivers() async throws {
        let recorder = Recorder<Int>()
        try await subscribe(recorder)
        press(behind: 1.4, demand: [.low: 20])

        let publishing = Task {
            try await bus.publish(
                OrderPlaced(orderID: 1, customer: "c", amount: 1),
                options: PublishOptions(producer: "analytics"))
        }
        #expect(await clock.waitForSleepers(count: 1))
        #expect(clock.requestedSleeps.contains(.milliseconds(400)))
        #expect(await recorder.count == 0)

        clock.advance(by: .milliseconds(400))
        try await publishing.value
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await recorder.values == [1])
        #expect(controller.statistics().throttled[.low] == 1)
    }

    @Test func publish_whenShed_throwsShedWithRetryAfter() async throws {
        let recorder = Recorder<Int>()
        try await subscribe(recorder)
        press(behind: 1.4)

        let error = await #expect(throws: BusError.self) {
            try await bus.publish(
                OrderPlaced(orderID: 2, customer: "c", amount: 1),
                options: PublishOptions(producer: "batch"))
        }

        #expect(error?.code == .shed)
        #expect(error?.retryAfter == .milliseconds(1400))
        #expect(error?.isRetryable == true)
        #expect(
            error?.message
                == "message on orders was shed: channel orders is throttling at pressure 1.4; "
                + "low priority is over its admitted share")
        _ = await bus.shutdown(deadline: .seconds(5))
        #expect(await recorder.count == 0)
    }

    @Test func publish_critical_isNeverShedByTheController() async throws {
        let recorder = Recorder<Int>()
        try await subscribe(recorder)
        press(behind: 5)

        for orderID in 1...20 {
            try await bus.publish(
                OrderPlaced(orderID: orderID, customer: "c", amount: 1),
                options: PublishOptions(priority: .critical, producer: "batch-critical"))
        }
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await recorder.values == Array(1...20))
        #expect(controller.statistics().channels["orders"]!.state == .shedding)
    }

    @Test func send_aboveHardMemoryLimit_refusesEvenCritical() async throws {
        try await bus.handle(ChargeCard.self) { _, _ in }
        press(behind: 0.1, bytes: 2_500_000)

        let error = await #expect(throws: BusError.self) {
            try await bus.send(ChargeCard(orderID: 1), options: PublishOptions(priority: .critical))
        }

        #expect(error?.code == .shed)
        #expect(error?.retryAfter == .seconds(1))
        #expect(
            error?.message
                == "message on test.ChargeCard was shed: queued bytes (about 2500000) "
                + "reached the hard memory limit of 2000000 bytes; every message is refused")
    }

    @Test func lagMonitor_onTheRealBus_shedsOnceTheConsumerFallsBehind() async throws {
        let gate = Gate()
        try await bus.subscribe(
            to: OrderPlaced.self, group: "billing",
            options: SubscriptionOptions(capacity: 100)
        ) { _, _ in
            await gate.wait()
        }
        let monitor = LagMonitor(
            source: { [bus] in bus.lagReports() }, controller: controller, clock: clock)

        for orderID in 1...5 {
            try await bus.publish(
                OrderPlaced(orderID: orderID, customer: "c", amount: 1),
                options: PublishOptions(producer: "batch"))
        }
        clock.advance(by: .milliseconds(1500))
        let reports = monitor.sample()

        #expect(
            reports == [
                LagReport(
                    channel: "orders", group: "billing", waiting: 5,
                    oldestAge: .milliseconds(1500), drainRate: 0,
                    queuedBytes: reports.first?.queuedBytes ?? 0, at: .milliseconds(1500))
            ])
        let error = await #expect(throws: BusError.self) {
            try await bus.publish(
                OrderPlaced(orderID: 6, customer: "c", amount: 1),
                options: PublishOptions(producer: "batch"))
        }
        #expect(error?.code == .shed)

        await gate.open()
        _ = await bus.shutdown(deadline: .seconds(5))
    }

    @Test func publish_withoutAdmissionControl_isUnaffected() async throws {
        let plain = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled))
        let recorder = Recorder<Int>()
        try await plain.subscribe(to: OrderPlaced.self, group: "billing") { event, _ in
            await recorder.append(event.orderID)
        }

        try await plain.publish(
            OrderPlaced(orderID: 3, customer: "c", amount: 1),
            options: PublishOptions(producer: "batch"))
        _ = await plain.shutdown(deadline: .seconds(5))

        #expect(await recorder.values == [3])
    }
}
