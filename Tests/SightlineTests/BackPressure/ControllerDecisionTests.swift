import Sightline
import Testing

/// Scripted lag sequences fed straight into the controller. Smoothing is off and the trend
/// is not projected, so pressure is exactly time behind over target.
@Suite struct ControllerDecisionTests {
    let controller: BackPressureController
    var now = Duration.zero

    static func policy(mode: BackPressurePolicy.RateControl.Mode = .pi) -> BackPressurePolicy {
        BackPressurePolicy(
            channels: ["orders": .init(lagTarget: .seconds(1))],
            producers: [
                "analytics": .init(
                    priority: .low, toleratesDelay: true, maxDelay: .milliseconds(500)),
                "batch": .init(priority: .low),
                "pager": .init(priority: .critical),
            ],
            rate: .init(mode: mode, smoothing: 1, trendTicks: 0), cohorts: 1)
    }

    init() throws {
        controller = try BackPressureController(policy: Self.policy())
    }

    /// One group on `orders` that is `behind` seconds behind and drains 100 messages/s.
    static func report(behind: Double, bytes: Int = 0, at: Duration) -> LagReport {
        LagReport(
            channel: "orders", group: "billing", waiting: Int(behind * 100),
            oldestAge: .seconds(behind), drainRate: 100, queuedBytes: bytes, at: at)
    }

    /// Offers 5 unnamed messages of each priority (50 per second each at a 100 ms tick).
    static let everyPriority: [Priority: Int] = [.critical: 5, .high: 5, .normal: 5, .low: 5]
    /// Light demand above low, so that low is the highest priority over its share.
    static let mostlyLow: [Priority: Int] = [.critical: 1, .high: 1, .normal: 1, .low: 30]

    mutating func tick(
        behind: Double?, traffic: Bool = true, demand: [Priority: Int] = everyPriority,
        on target: BackPressureController? = nil
    ) {
        let controller = target ?? self.controller
        for (priority, count) in traffic ? demand : [:] {
            for _ in 0..<count {
                _ = controller.decide(
                    channel: "orders", priority: priority, producer: nil, timeToLive: nil)
            }
        }
        now += .milliseconds(100)
        let reports = behind.map { [Self.report(behind: $0, at: now)] } ?? []
        controller.ingest(reports, at: now)
    }

    func decide(_ producer: String?, _ priority: Priority = .normal, ttl: Duration? = nil)
        -> AdmissionDecision
    {
        controller.decide(
            channel: "orders", priority: priority, producer: producer, timeToLive: ttl)
    }

    var orders: BackPressureStatistics.ChannelStatistics {
        controller.statistics().channels["orders"]!
    }

    // MARK: Pressure rising

    @Test mutating func decide_whenLagBelowTarget_admitsEverything() {
        tick(behind: 0.4)

        #expect(orders.state == .calm)
        #expect(orders.pressure == 0.4)
        #expect(decide("batch") == .admit)
        #expect(decide("analytics") == .admit)
        #expect(decide(nil, .low) == .admit)
    }

    @Test mutating func decide_whenPressureRisesAboveTarget_throttlesTolerantAndShedsOthers() {
        tick(behind: 0.4, demand: Self.mostlyLow)
        tick(behind: 1.3, demand: Self.mostlyLow)

        #expect(orders.state == .throttling)
        #expect(decide("analytics") == .throttle(delay: .milliseconds(300)))
        #expect(
            decide("batch")
                == .shed(
                    retryAfter: .milliseconds(1300),
                    reason: "channel orders is throttling at pressure 1.3; low priority is "
                        + "over its admitted share"))
        #expect(decide("pager", .low) == .admit)
        #expect(decide(nil, .critical) == .admit)
    }

    @Test mutating func decide_throttleDelay_isBoundedByMaxDelayAndTimeToLive() {
        tick(behind: 1.9, demand: Self.mostlyLow)

        #expect(decide("analytics") == .throttle(delay: .milliseconds(500)))
        #expect(
            decide("analytics", ttl: .milliseconds(400)) == .throttle(delay: .milliseconds(200)))
        // Half of a 150 ms time to live is below one tick: it would expire before a tick
        // could show relief, so it is shed.
        if case .shed = decide("analytics", ttl: .milliseconds(150)) {
        } else {
            Issue.record("expected a shed decision")
        }
    }

    @Test mutating func decide_whenPressureHigh_shedsEvenTolerantProducers() {
        tick(behind: 2.5)

        #expect(orders.state == .shedding)
        if case .shed(let retryAfter, _) = decide("analytics") {
            #expect(retryAfter == .milliseconds(2500))
        } else {
            Issue.record("expected a shed decision")
        }
        #expect(decide(nil, .critical) == .admit)
    }

    @Test mutating func decide_whenAHigherPriorityIsShed_shedsTolerantLowerOnesToo() {
        tick(behind: 0.4)
        tick(behind: 1.3)

        // High gets only part of its demand, so low, tolerant or not, is shed, not delayed.
        #expect(orders.admittedShare[.high]! < 1)
        if case .shed = decide("analytics") {
        } else {
            Issue.record("expected a shed decision")
        }
    }

    @Test mutating func shares_areHandedOutFromTheHighestPriorityDown() {
        tick(behind: 0.4)
        tick(behind: 1.5)

        // Drain 100/s times the PI factor 1 + 0.5 * (1 - 1.5) - 0.025 (the integral after
        // one tick) = 0.725; critical and high offer 50/s each, so high gets 22.5 of its 50
        // and normal and low the probe share.
        let shares = orders.admittedShare
        #expect(abs(orders.admittedRate! - 72.5) < 1e-9)
        #expect(shares[.critical] == 1)
        #expect(abs(shares[.high]! - 0.45) < 1e-9)
        #expect(shares[.normal] == 0.02)
        #expect(shares[.low] == 0.02)
    }

    @Test mutating func decide_withProbeShare_admitsOneInFiftyOfAShedPriority() {
        tick(behind: 0.4)
        tick(behind: 2.5)

        var admitted = 0
        for _ in 0..<100 where decide(nil, .low) == .admit { admitted += 1 }
        #expect(admitted == 2)
    }

    // MARK: Pressure falling and flapping

    @Test mutating func state_whenPressureFalls_stepsDownOnlyAfterTheDwell() {
        tick(behind: 2.5)
        #expect(orders.state == .shedding)

        tick(behind: 1.2)
        #expect(orders.state == .shedding)
        for _ in 0..<3 { tick(behind: 1.2) }
        #expect(orders.state == .shedding)
        tick(behind: 1.2)
        #expect(orders.state == .throttling)

        // Demand stops, so the admitted rate no longer holds anyone back.
        for _ in 0..<4 { tick(behind: 0.2, traffic: false) }
        #expect(orders.state == .throttling)
        tick(behind: 0.2, traffic: false)
        #expect(orders.state == .calm)
        #expect(orders.admittedRate == nil)
        #expect(decide("batch") == .admit)
    }

    @Test mutating func state_whenDemandStillExceedsRate_staysRegulatedAtLowPressure() {
        tick(behind: 1.5)
        for _ in 0..<20 { tick(behind: 0.2) }

        #expect(orders.state == .throttling)
    }

    @Test mutating func state_whenPressureFlapsAroundThrottleStart_staysThrottling() {
        var states: [RegulationState] = []
        for behind in [0.3, 1.1, 0.8, 1.1, 0.8, 1.1, 0.8, 1.1, 0.8, 0.9] {
            tick(behind: behind)
            states.append(orders.state)
        }

        #expect(states == [.calm] + Array(repeating: .throttling, count: 9))
    }

    @Test mutating func state_whenPressureFlapsAroundShedStart_staysShedding() {
        var states: [RegulationState] = []
        for behind in [2.1, 1.7, 2.1, 1.6, 2.2, 1.7, 2.0, 1.8] {
            tick(behind: behind)
            states.append(orders.state)
        }

        #expect(states == Array(repeating: .shedding, count: 8))
    }

    // MARK: Reports stopping

    @Test mutating func rate_whenReportsStop_freezesGrowthUntilTheyReturn() throws {
        let aimd = try BackPressureController(policy: Self.policy(mode: .aimd))
        tick(behind: 1.5, on: aimd)
        var rates: [Double] = []
        func record() { rates.append(aimd.statistics().channels["orders"]!.admittedRate!) }
        record()

        // Engaged at the drain rate 100/s, cut to 100 / 1.5; below target, after three calm
        // ticks the rate grows by 5 (5% of the drain rate) a tick.
        for _ in 0..<4 {
            tick(behind: 0.6, on: aimd)
            record()
        }
        // Reports stop. The last one counts for four more ticks, then growth freezes.
        for _ in 0..<8 {
            tick(behind: nil, on: aimd)
            record()
        }
        let frozen = aimd.statistics().channels["orders"]!
        tick(behind: 0.6, on: aimd)
        record()

        let rounded = rates.map { ($0 * 10).rounded() / 10 }
        #expect(
            rounded == [
                66.7, 66.7, 66.7, 71.7, 76.7, 81.7, 86.7, 91.7, 96.7, 96.7, 96.7, 96.7, 96.7, 101.7,
            ])
        #expect(frozen.isFrozen)
        #expect(frozen.state == .throttling)
        #expect(aimd.statistics().channels["orders"]!.isFrozen == false)
    }

    // MARK: Memory guard

    @Test mutating func decide_aboveSoftMemoryLimit_shedsAllButCritical() throws {
        var policy = Self.policy()
        policy.memory = .init(softLimitBytes: 1000, hardLimitBytes: 2000)
        try controller.update(policy: policy)
        now += .milliseconds(100)
        controller.ingest([Self.report(behind: 0.1, bytes: 1200, at: now)], at: now)

        #expect(
            decide(nil, .high)
                == .shed(
                    retryAfter: .seconds(1),
                    reason: "queued bytes (about 1200) reached the soft memory limit of 1000 "
                        + "bytes; only critical messages are admitted"))
        #expect(decide(nil, .critical) == .admit)
        #expect(controller.statistics().shedBySoftLimit == 1)
    }

    @Test mutating func decide_aboveHardMemoryLimit_refusesCriticalToo() throws {
        var policy = Self.policy()
        policy.memory = .init(softLimitBytes: 1000, hardLimitBytes: 2000)
        try controller.update(policy: policy)
        now += .milliseconds(100)
        controller.ingest([Self.report(behind: 0.1, bytes: 2500, at: now)], at: now)

        #expect(
            decide(nil, .critical)
                == .shed(
                    retryAfter: .seconds(1),
                    reason: "queued bytes (about 2500) reached the hard memory limit of 2000 "
                        + "bytes; every message is refused"))
        #expect(controller.statistics().refusedByHardLimit == 1)
    }

    @Test mutating func decide_betweenReports_estimatesBytesOfAdmittedMessages() throws {
        var policy = Self.policy()
        policy.memory = .init(softLimitBytes: 1000)
        try controller.update(policy: policy)
        now += .milliseconds(100)
        // 90 messages waiting in 900 bytes: 10 bytes each, so ten more reach the limit.
        controller.ingest([Self.report(behind: 0.9, bytes: 900, at: now)], at: now)

        let decisions = (0..<11).map { _ in decide(nil, .low) }

        #expect(decisions.prefix(10).allSatisfy { $0 == .admit })
        #expect(decisions[10] != .admit)
    }

    // MARK: Cohorts and policy

    @Test func cohorts_shedTheSameProducersEveryTime() throws {
        var policy = Self.policy()
        policy.cohorts = 4
        policy.probeShare = 0
        let controller = try BackPressureController(policy: policy)

        // On target (factor 1) with a drain of 150/s: critical and high take 50/s each and
        // normal, offering 100/s, gets half: cohorts 0 and 1 of 4.
        let offers: [Priority: Int] = [.critical: 5, .high: 5, .normal: 10]
        for (priority, count) in offers {
            for _ in 0..<count {
                _ = controller.decide(
                    channel: "orders", priority: priority, producer: nil, timeToLive: nil)
            }
        }
        let report = LagReport(
            channel: "orders", group: "billing", waiting: 150, oldestAge: .seconds(1),
            drainRate: 150, at: .milliseconds(100))
        controller.ingest([report], at: .milliseconds(100))

        let names = (0..<16).map { "svc-\($0)" }
        func admitted(_ name: String) -> Bool {
            controller.decide(channel: "orders", priority: .normal, producer: name, timeToLive: nil)
                == .admit
        }
        let first = names.map(admitted)
        let second = Array(names.reversed().map(admitted).reversed())

        #expect(controller.statistics().channels["orders"]!.admittedShare[.normal] == 0.5)
        #expect(second == first)
        #expect(
            names.filter(admitted) == [
                "svc-0", "svc-3", "svc-4", "svc-7", "svc-8", "svc-10", "svc-13", "svc-14",
            ])
    }

    @Test func update_withInvalidPolicy_keepsThePreviousOne() throws {
        let controller = try BackPressureController(policy: Self.policy())
        var bad = Self.policy()
        bad.thresholds.shedStart = 0.5

        let error = #expect(throws: PolicyViolation.self) { try controller.update(policy: bad) }

        #expect(error?.field == "thresholds.shed_start")
        #expect(error?.reason == "must be above throttle_start 1.0 (got 0.5)")
        #expect(controller.policy == Self.policy())
        #expect(controller.statistics().rejectedPolicies == 1)
    }
}
