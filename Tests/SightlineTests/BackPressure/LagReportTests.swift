import Sightline
import SightlineTestKit
import Testing

@Suite struct LagReportTests {
    static let key = GroupKey(channel: "orders", group: "billing")

    static func lag(waiting: Int, settled: UInt64, oldest: Duration = .zero) -> QueueLag {
        QueueLag(
            waiting: waiting, inFlight: 0, oldestAge: oldest, capacity: 100,
            settledTotal: settled, queuedBytes: waiting * 10)
    }

    @Test func builder_drainRate_isTheSmoothedRateOfSettledMessages() {
        var builder = LagReportBuilder(smoothing: 0.5)

        let first = builder.reports(from: [Self.key: Self.lag(waiting: 4, settled: 0)], at: .zero)
        let second = builder.reports(
            from: [Self.key: Self.lag(waiting: 4, settled: 20)], at: .milliseconds(100))
        let third = builder.reports(
            from: [Self.key: Self.lag(waiting: 4, settled: 30)], at: .milliseconds(200))

        #expect(first[0].drainRate == 0)
        #expect(second[0].drainRate == 200)
        #expect(third[0].drainRate == 150)
        #expect(third[0].queuedBytes == 40)
        #expect(third[0].at == .milliseconds(200))
    }

    @Test func timeBehind_isTheLargerOfOldestAgeAndWaitingOverDrain() {
        let byCount = LagReport(
            channel: "c", group: "g", waiting: 50, oldestAge: .milliseconds(100), drainRate: 100,
            at: .zero)
        let byAge = LagReport(
            channel: "c", group: "g", waiting: 5, oldestAge: .milliseconds(800), drainRate: 100,
            at: .zero)
        let noDrain = LagReport(
            channel: "c", group: "g", waiting: 5, oldestAge: .milliseconds(30), drainRate: 0,
            at: .zero)

        #expect(byCount.timeBehind == .milliseconds(500))
        #expect(byAge.timeBehind == .milliseconds(800))
        #expect(noDrain.timeBehind == .milliseconds(30))
    }

    @Test func monitor_onEachTick_feedsTheController() async throws {
        let clock = ManualClock()
        let controller = try BackPressureController(
            policy: BackPressurePolicy(channels: ["orders": .init(lagTarget: .seconds(1))]))
        let monitor = LagMonitor(
            source: { [Self.key: Self.lag(waiting: 9, settled: 0, oldest: .seconds(3))] },
            controller: controller, clock: clock)

        monitor.start()
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(100))
        #expect(await clock.waitForSleepers(count: 1))
        monitor.stop()

        let orders = try #require(controller.statistics().channels["orders"])
        #expect(orders.state == .shedding)
        #expect(monitor.latestReports.map(\.oldestAge) == [.seconds(3)])
        #expect(clock.requestedSleeps.prefix(2) == [.milliseconds(100), .milliseconds(100)])
    }
}
