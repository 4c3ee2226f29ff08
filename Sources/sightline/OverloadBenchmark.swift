import Foundation
import Glibc
import Sightline
import Synchronization

let overloadBenchmarkUsage = """
    usage: sightline bench overload [--quick] [--json] [--service-us N] [--seed S]
      Open-loop arrivals from critical, high, normal and low producers against one
      subscriber group whose handler busy-waits a fixed service time. Calibrates the
      consumer's capacity, then runs 0.5x, 1x, 2x, 5x and 10x capacity, a step from 0.5x
      to 1.4x and back, and a consumer that halves its speed mid-run, each with the
      back-pressure controller on and off.
      --quick        shortened phases for CI smoke tests (about 20 s)
      --json         print one JSON object with a `phases` array as the last line
      --service-us N the handler's service time in microseconds (default 100)
      --seed S       seed of the arrival processes (default 1)
    """

/// `sightline bench overload`: see ``overloadBenchmarkUsage``.
func runOverloadBenchmark(arguments: [String]) async throws -> Int32 {
    let parsed = try CommandArguments(
        arguments, switchNames: ["--quick", "--json"], valueNames: ["--service-us", "--seed"])
    try parsed.requireNoPositional()
    let options = OverloadBenchmark.Options(
        quick: parsed.has("--quick"),
        serviceTime: .microseconds(try parsed.int("--service-us", range: 10...10_000) ?? 100),
        seed: UInt64(try parsed.int("--seed", range: 0...Int.max) ?? 1))
    let report = try await OverloadBenchmark(options: options).run()

    if parsed.has("--json") {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
        print(report.table())
    }
    return 0
}

/// The overload experiment against the real in-process bus.
struct OverloadBenchmark {
    struct Options {
        var quick: Bool
        var serviceTime: Duration
        var seed: UInt64
    }

    static let channel = "bench.overload"
    static let lagTarget = Duration.milliseconds(100)
    static let queueCapacity = 4096
    static let softLimit = 512 * 1024
    static let hardLimit = 768 * 1024
    static let mix: [Priority: Double] = [.critical: 0.05, .high: 0.15, .normal: 0.3, .low: 0.5]
    static let producersPerPriority = 4
    static let bucket = Duration.milliseconds(250)

    /// One phase's schedule: load segments (as multiples of capacity) and an optional
    /// consumer slowdown.
    struct Plan {
        var name: String
        var load: Double
        var segments: [(end: Duration, load: Double)]
        var slowdownAt: Duration?
        /// The window in which settling is measured, where it applies.
        var settleWindow: (from: Duration, to: Duration)?

        var duration: Duration { segments.last!.end }

        func load(at time: Duration) -> Double {
            segments.first { time < $0.end }?.load ?? 0
        }
    }

    let options: Options

    func run() async throws -> OverloadReport {
        // The machine is shared, so capacity drifts: each pair of runs (controller on and
        // off) is calibrated just before it, and its load and goodput refer to that figure.
        var capacities: [Double] = []
        var phases: [OverloadReport.Phase] = []
        for plan in plans() {
            let capacity = try await calibrate()
            capacities.append(capacity)
            for controller in [true, false] {
                phases.append(
                    try await runPhase(plan, capacity: capacity, controllerOn: controller))
            }
        }
        var report = OverloadReport(
            benchmark: "overload", cores: ProcessInfo.processInfo.activeProcessorCount,
            capacity: capacities.sorted()[capacities.count / 2],
            serviceMicroseconds: Double(options.serviceTime.nanoseconds) / 1000,
            lagTargetMilliseconds: Double(Self.lagTarget.nanoseconds) / 1e6,
            hardLimitBytes: Self.hardLimit, quick: options.quick, phases: phases, goals: [])
        report.goals = report.evaluateGoals(probeShare: Self.policy().probeShare)
        return report
    }

    func plans() -> [Plan] {
        let unit = Duration.milliseconds(options.quick ? 600 : 4000)
        var plans = [0.5, 1, 2, 5, 10].map { load in
            Plan(name: "\(Self.format(load))x", load: load, segments: [(unit, load)])
        }
        let edge = options.quick ? Duration.milliseconds(500) : .seconds(2)
        let high = options.quick ? Duration.milliseconds(1500) : .seconds(4)
        plans.append(
            Plan(
                name: "step 0.5x-1.4x-0.5x", load: 1.4,
                segments: [(edge, 0.5), (edge + high, 1.4), (edge + high + edge, 0.5)],
                settleWindow: (edge, edge + high)))
        let half = options.quick ? Duration.milliseconds(1200) : .seconds(4)
        plans.append(
            Plan(
                name: "consumer halves at 0.8x", load: 0.8, segments: [(half * 2, 0.8)],
                slowdownAt: half, settleWindow: (half, half * 2)))
        return plans
    }

    static func policy() -> BackPressurePolicy {
        var producers: [String: BackPressurePolicy.Producer] = [:]
        for index in 0..<producersPerPriority {
            producers["normal-\(index)"] = .init(toleratesDelay: true, maxDelay: .milliseconds(50))
        }
        return BackPressurePolicy(
            channels: [channel: .init(lagTarget: lagTarget)], producers: producers,
            memory: .init(softLimitBytes: softLimit, hardLimitBytes: hardLimit))
    }

    // MARK: Calibration

    /// Messages per second the handler sustains when it never waits for work.
    func calibrate() async throws -> Double {
        let bus = Bus(configuration: BusConfiguration(logger: .disabled))
        let handled = Atomic<Int>(0)
        let warmUp = options.quick ? 300 : 1000
        let firstAndLast = Mutex<(ContinuousClock.Instant?, ContinuousClock.Instant?)>((nil, nil))
        let service = options.serviceTime
        try await bus.subscribe(
            to: OverloadEvent.self, group: "consumer",
            options: SubscriptionOptions(capacity: Self.queueCapacity)
        ) { _, _ in
            Self.busyWait(service)
            let now = ContinuousClock.now
            // The first messages warm the path up; timing starts after them.
            let seen = handled.add(1, ordering: .relaxed).newValue
            if seen >= warmUp { firstAndLast.withLock { $0 = ($0.0 ?? now, now) } }
        }

        let count = warmUp + (options.quick ? 2500 : 10000)
        for index in 0..<count {
            try await bus.publish(OverloadEvent(intendedNanos: 0, rank: index % 4))
        }
        _ = await bus.shutdown(deadline: .seconds(120))
        let (first, last) = firstAndLast.withLock { $0 }
        guard let first, let last, last > first else { return 1 }
        return Double(handled.load(ordering: .relaxed) - warmUp) / (last - first).seconds
    }

    static func busyWait(_ duration: Duration) {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {}
    }

    // MARK: One phase

    func runPhase(_ plan: Plan, capacity: Double, controllerOn: Bool) async throws
        -> OverloadReport.Phase
    {
        let controller = try BackPressureController(policy: Self.policy())
        let bus = Bus(
            configuration: BusConfiguration(
                logger: .disabled, admission: controllerOn ? controller : nil))
        let origin = ContinuousClock.now
        let recorder = PhaseRecorder(phaseEnd: plan.duration)
        let serviceNanos = Atomic<Int64>(options.serviceTime.nanoseconds)
        try await bus.subscribe(
            to: OverloadEvent.self, group: "consumer",
            options: SubscriptionOptions(capacity: Self.queueCapacity)
        ) { event, _ in
            Self.busyWait(.nanoseconds(serviceNanos.load(ordering: .relaxed)))
            let now = ContinuousClock.now - origin
            recorder.handled(rank: event.rank, intended: .nanoseconds(event.intendedNanos), at: now)
        }
        let monitor = controllerOn ? BackPressure.start(bus: bus, controller: controller) : nil
        let sampler = Task {
            await Self.sample(bus: bus, origin: origin, until: plan.duration, into: recorder)
        }
        let slowdown = Task {
            guard let at = plan.slowdownAt else { return }
            try? await Task.sleep(until: origin + at)
            serviceNanos.store(options.serviceTime.nanoseconds * 2, ordering: .relaxed)
        }
        let producers = Priority.allCases.map { priority in
            Task {
                await Self.produce(
                    priority: priority, plan: plan, capacity: capacity, bus: bus, origin: origin,
                    seed: options.seed &+ UInt64(priority.rank) &* 7919)
            }
        }
        var counts: [Priority: ProducerCounts] = [:]
        for (index, producer) in producers.enumerated() {
            counts[Priority.allCases[index]] = await producer.value
        }
        await sampler.value
        await slowdown.value
        monitor?.stop()
        _ = await bus.shutdown(deadline: .seconds(30))

        return recorder.phase(
            plan: plan, controllerOn: controllerOn, capacity: capacity, counts: counts,
            statistics: controllerOn ? controller.statistics() : nil, lagTarget: Self.lagTarget)
    }

    /// One producer of one priority: open-loop arrivals at their intended times; a message
    /// whose time came while the producer was held up (throttled) goes out at once, and
    /// its latency still counts from the intended time.
    static func produce(
        priority: Priority, plan: Plan, capacity: Double, bus: Bus,
        origin: ContinuousClock.Instant, seed: UInt64
    ) async -> ProducerCounts {
        var random = SplitMix64(seed: seed)
        var counts = ProducerCounts(buckets: Int(plan.duration / bucket) + 1)
        var intended = Duration.zero
        var turn = 0
        let names = (0..<producersPerPriority).map { "\(priority.rawValue)-\($0)" }

        func advance() -> Bool {
            while intended < plan.duration {
                let rate = plan.load(at: intended) * capacity * mix[priority]!
                guard rate > 0 else {
                    intended = plan.segments.first { intended < $0.end }!.end
                    continue
                }
                intended += .seconds(-Foundation.log(1 - random.nextUnit()) / rate)
                return intended < plan.duration
            }
            return false
        }

        while advance() {
            var now = ContinuousClock.now - origin
            if now >= plan.duration {
                // Time is up: what this producer still owed counts as offered, unsent.
                counts.offered += 1
                counts.unsent += 1
                continue
            }
            if intended > now {
                try? await Task.sleep(for: max(intended - now, .milliseconds(1)))
                now = ContinuousClock.now - origin
            }

            turn += 1
            let name = names[turn % producersPerPriority]
            let event = OverloadEvent(intendedNanos: intended.nanoseconds, rank: priority.rank)
            let slot = min(counts.buckets.count - 1, Int(now / bucket))
            counts.offered += 1
            counts.buckets[slot].offered += 1
            do {
                try await bus.publish(
                    event,
                    options: PublishOptions(priority: priority, whenFull: .fail, producer: name))
                counts.buckets[slot].admitted += 1
            } catch let error as BusError where error.code == .shed {
                // Memory-limit sheds hit every priority but critical alike; they are counted
                // apart so that the priority-order check sees only the rate's decisions.
                counts.shed += 1
                if error.message.contains("memory limit") {
                    counts.shedByMemory += 1
                } else {
                    counts.buckets[slot].shed += 1
                }
            } catch let error as BusError where error.code == .queueFull {
                counts.queueFull += 1
            } catch {
                counts.unsent += 1
            }
        }
        return counts
    }

    /// Every 10 ms: lag, queued bytes and resident memory.
    static func sample(
        bus: Bus, origin: ContinuousClock.Instant, until end: Duration, into recorder: PhaseRecorder
    ) async {
        while ContinuousClock.now - origin < end {
            let lags = bus.lagReports().values
            let now = ContinuousClock.now - origin
            recorder.sample(
                at: now, waiting: lags.map(\.waiting).max() ?? 0,
                oldestAge: lags.map(\.oldestAge).max() ?? .zero,
                queuedBytes: lags.reduce(0) { $0 + $1.queuedBytes },
                rss: ProcessResources.residentBytes())
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

/// The benchmark's message: when it was meant to be sent, and its priority.
struct OverloadEvent: Event {
    static let messageType = "bench.Overload"
    static let channel = OverloadBenchmark.channel

    var intendedNanos: Int64
    var rank: Int
}

/// What one producer did in one phase.
struct ProducerCounts: Sendable {
    struct Bucket: Sendable {
        var offered = 0
        var admitted = 0
        var shed = 0
    }

    var offered = 0
    var shed = 0
    var shedByMemory = 0
    var queueFull = 0
    var unsent = 0
    var buckets: [Bucket]

    init(buckets: Int) {
        self.buckets = Array(repeating: Bucket(), count: buckets)
    }
}

/// Collects handled messages and lag samples of one phase from many tasks.
final class PhaseRecorder: Sendable {
    private struct State {
        var latencies: [[Int64]] = Array(repeating: [], count: 4)
        var goodput = [0, 0, 0, 0]
        var maxWaiting = 0
        var maxOldest = Duration.zero
        var peakBytes = 0
        var peakRSS = 0
        var oldestSeries: [(at: Duration, oldest: Duration)] = []
    }

    private let state = Mutex(State())
    private let phaseEnd: Duration

    init(phaseEnd: Duration) {
        self.phaseEnd = phaseEnd
    }

    func handled(rank: Int, intended: Duration, at now: Duration) {
        state.withLock { state in
            state.latencies[rank].append((now - intended).nanoseconds)
            if now <= phaseEnd { state.goodput[rank] += 1 }
        }
    }

    func sample(at: Duration, waiting: Int, oldestAge: Duration, queuedBytes: Int, rss: Int) {
        state.withLock { state in
            state.maxWaiting = max(state.maxWaiting, waiting)
            state.maxOldest = max(state.maxOldest, oldestAge)
            state.peakBytes = max(state.peakBytes, queuedBytes)
            state.peakRSS = max(state.peakRSS, rss)
            state.oldestSeries.append((at, oldestAge))
        }
    }

    func phase(
        plan: OverloadBenchmark.Plan, controllerOn: Bool, capacity: Double,
        counts: [Priority: ProducerCounts], statistics: BackPressureStatistics?,
        lagTarget: Duration
    ) -> OverloadReport.Phase {
        state.withLock { state in
            var priorities: [String: OverloadReport.PriorityFigures] = [:]
            var buckets: [[ProducerCounts.Bucket]] = []
            for priority in Priority.allCases {
                let produced = counts[priority]!
                let sorted = state.latencies[priority.rank].sorted()
                func percentile(_ share: Double) -> Double? {
                    guard !sorted.isEmpty else { return nil }
                    let index = min(sorted.count - 1, Int(Double(sorted.count) * share))
                    return Double(sorted[index]) / 1e6
                }
                priorities[priority.rawValue] = OverloadReport.PriorityFigures(
                    offered: produced.offered,
                    goodput: Double(state.goodput[priority.rank]) / plan.duration.seconds,
                    p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99),
                    shed: produced.shed + produced.queueFull,
                    throttled: Int(statistics?.throttled[priority] ?? 0),
                    queueFull: produced.queueFull, shedByMemory: produced.shedByMemory,
                    unsent: produced.unsent)
                buckets.append(produced.buckets)
            }

            var settle: Double??
            var overshoot: Double?
            if let window = plan.settleWindow {
                // Settling is judged on the oldest age averaged over ten samples (100 ms, one
                // controller tick), so that one noisy 10 ms sample does not decide it.
                let band = lagTarget * 1.25
                let series = state.oldestSeries
                let averaged = series.indices.map { index in
                    let recent = series[max(0, index - 9)...index]
                    let total = recent.reduce(Duration.zero) { $0 + $1.oldest }
                    return (at: series[index].at, oldest: total / recent.count)
                }
                let inside = averaged.filter { $0.at >= window.from && $0.at < window.to }
                if let last = inside.last, last.oldest <= band {
                    let violation = inside.last { $0.oldest > band }
                    settle = .some(violation.map { ($0.at - window.from).seconds } ?? 0)
                } else {
                    settle = .some(nil)
                }
                let peak = inside.map(\.oldest).max() ?? .zero
                overshoot = max(0, peak.seconds / lagTarget.seconds - 1)
            }

            return OverloadReport.Phase(
                name: plan.name, load: plan.load, controller: controllerOn ? "on" : "off",
                capacity: capacity,
                seconds: plan.duration.seconds, priorities: priorities,
                maxLagMessages: state.maxWaiting, maxLagSeconds: state.maxOldest.seconds,
                peakQueuedBytes: state.peakBytes, peakRSSBytes: state.peakRSS,
                settleSeconds: settle, overshoot: overshoot,
                goodputShareOfCapacity: Double(state.goodput.reduce(0, +))
                    / plan.duration.seconds / capacity,
                buckets: buckets)
        }
    }
}

/// The benchmark's results: phases side by side (controller on and off) and the goals.
struct OverloadReport: Encodable {
    struct PriorityFigures: Encodable {
        var offered: Int
        /// Messages handled within the phase, per second.
        var goodput: Double
        var p50Milliseconds: Double?
        var p99Milliseconds: Double?
        /// Refused by the controller or by a full queue.
        var shed: Int
        var throttled: Int
        /// Of `shed`, refused by a full queue.
        var queueFull: Int
        /// Of `shed`, refused by the controller's memory limits.
        var shedByMemory: Int
        /// Due in the phase but not yet sent when it ended (the producer was held up).
        var unsent: Int

        enum CodingKeys: String, CodingKey {
            case offered, goodput, shed, throttled, unsent
            case p50Milliseconds = "p50_ms"
            case p99Milliseconds = "p99_ms"
            case queueFull = "queue_full"
            case shedByMemory = "shed_by_memory"
        }
    }

    struct Phase: Encodable {
        var name: String
        var load: Double
        var controller: String
        /// The capacity calibrated just before this phase, messages per second.
        var capacity: Double
        var seconds: Double
        var priorities: [String: PriorityFigures]
        var maxLagMessages: Int
        var maxLagSeconds: Double
        var peakQueuedBytes: Int
        var peakRSSBytes: Int
        /// Absent where settling does not apply; null where it applies but never happened.
        var settleSeconds: Double??
        var overshoot: Double?
        var goodputShareOfCapacity: Double
        var buckets: [[ProducerCounts.Bucket]]

        enum CodingKeys: String, CodingKey {
            case name, load, controller, capacity, seconds, priorities, overshoot
            case maxLagMessages = "max_lag_messages"
            case maxLagSeconds = "max_lag_seconds"
            case peakQueuedBytes = "peak_queued_bytes"
            case peakRSSBytes = "peak_rss_bytes"
            case settleSeconds = "settle_seconds"
            case goodputShareOfCapacity = "goodput_share_of_capacity"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(load, forKey: .load)
            try container.encode(controller, forKey: .controller)
            try container.encode(capacity, forKey: .capacity)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(priorities, forKey: .priorities)
            try container.encode(maxLagMessages, forKey: .maxLagMessages)
            try container.encode(maxLagSeconds, forKey: .maxLagSeconds)
            try container.encode(peakQueuedBytes, forKey: .peakQueuedBytes)
            try container.encode(peakRSSBytes, forKey: .peakRSSBytes)
            try container.encode(goodputShareOfCapacity, forKey: .goodputShareOfCapacity)
            try container.encodeIfPresent(overshoot, forKey: .overshoot)
            if let settle = settleSeconds {
                if let value = settle {
                    try container.encode(value, forKey: .settleSeconds)
                } else {
                    try container.encodeNil(forKey: .settleSeconds)
                }
            }
        }

        var totalShed: Int { priorities.values.reduce(0) { $0 + $1.shed } }
    }

    struct Goal: Encodable {
        var goal: String
        var measured: String
        var met: Bool
    }

    var benchmark: String
    var cores: Int
    /// The median of the capacities calibrated before each pair of phases.
    var capacity: Double
    var serviceMicroseconds: Double
    var lagTargetMilliseconds: Double
    var hardLimitBytes: Int
    var quick: Bool
    var phases: [Phase]
    var goals: [Goal]

    enum CodingKeys: String, CodingKey {
        case benchmark, cores, capacity, quick, phases, goals
        case serviceMicroseconds = "service_us"
        case lagTargetMilliseconds = "lag_target_ms"
        case hardLimitBytes = "hard_limit_bytes"
    }

    func phase(_ name: String, on: Bool) -> Phase? {
        phases.first { $0.name == name && $0.controller == (on ? "on" : "off") }
    }

    /// Where the controller stands against each goal of the issue, from this run's figures.
    func evaluateGoals(probeShare: Double) -> [Goal] {
        var goals: [Goal] = []

        if let loaded = phase("5x", on: true), let unloaded = phase("0.5x", on: true) {
            let heavy = loaded.priorities["critical"]!.p99Milliseconds ?? .infinity
            let light = unloaded.priorities["critical"]!.p99Milliseconds ?? .infinity
            goals.append(
                Goal(
                    goal: "at 5x, critical p99 within 2x of its unloaded p99",
                    measured: String(
                        format: "%.2f ms vs %.2f ms unloaded (%.1fx)", heavy, light, heavy / light),
                    met: heavy <= 2 * light))
            let shed = loaded.priorities["critical"]!.shed
            goals.append(
                Goal(
                    goal: "at 5x, no critical message shed", measured: "\(shed) shed",
                    met: shed == 0))
        }

        let shares = ["2x", "5x", "10x"].compactMap { name in
            phase(name, on: true).map { (name, $0.goodputShareOfCapacity) }
        }
        goals.append(
            Goal(
                goal: "total goodput at least 95% of capacity at 2x, 5x and 10x",
                measured: shares.map { "\($0.0) " + String(format: "%.1f%%", $0.1 * 100) }
                    .joined(separator: ", "),
                met: shares.allSatisfy { $0.1 >= 0.95 }))

        let (violations, shedding) = priorityInversions(probeShare: probeShare)
        goals.append(
            Goal(
                goal: "no priority shed while a lower one is admitted above its probe share",
                measured: "\(violations) of \(shedding) quarter-second windows with shedding "
                    + String(
                        format: "(lower priority admitted above %.0f%%)",
                        (probeShare + 0.05) * 100),
                met: violations == 0))

        if let step = phase("step 0.5x-1.4x-0.5x", on: true) {
            let settle = step.settleSeconds ?? nil
            let overshoot = step.overshoot ?? 0
            goals.append(
                Goal(
                    goal: "after the 1.4x step, settle within 1 s with at most 25% overshoot",
                    measured: (settle.map { String(format: "settled in %.2f s", $0) }
                        ?? "never settled") + String(format: ", overshoot %.0f%%", overshoot * 100),
                    met: (settle ?? .infinity) <= 1 && overshoot <= 0.25))
        }

        let peak = phases.filter { $0.controller == "on" }.map(\.peakQueuedBytes).max() ?? 0
        goals.append(
            Goal(
                goal: "queued bytes never above the limit",
                measured: "peak \(peak) bytes, hard limit \(hardLimitBytes) bytes",
                met: peak <= hardLimitBytes))
        return goals
    }

    /// Quarter-second windows (controller on) in which a priority was shed while a lower
    /// priority with at least 20 offers had more than its probe share (plus 5 points of
    /// slack for windows that straddle a tick) admitted.
    private func priorityInversions(probeShare: Double) -> (violations: Int, shedding: Int) {
        var violations = 0
        var shedding = 0
        for phase in phases where phase.controller == "on" {
            let windows = phase.buckets.map(\.count).min() ?? 0
            for window in 0..<windows {
                let byRank = phase.buckets.map { $0[window] }
                guard byRank.contains(where: { $0.shed > 0 }) else { continue }
                shedding += 1
                let inverted = (0..<byRank.count).contains { higher in
                    byRank[higher].shed > 0
                        && ((higher + 1)..<byRank.count).contains { lower in
                            byRank[lower].offered >= 20
                                && Double(byRank[lower].admitted) / Double(byRank[lower].offered)
                                    > probeShare + 0.05
                        }
                }
                if inverted { violations += 1 }
            }
        }
        return (violations, shedding)
    }

    /// The human-readable report.
    func table() -> String {
        var lines = [
            String(
                format:
                    "sightline bench overload: %d cores, capacity %.0f msg/s (service %.0f µs), "
                    + "lag target %.0f ms", cores, capacity, serviceMicroseconds,
                lagTargetMilliseconds) + (quick ? ", quick" : ""),
            "phase                    ctrl  priority  offered  goodput/s   p50 ms   p99 ms"
                + "     shed  throttled   unsent",
        ]
        for phase in phases {
            for priority in Priority.allCases {
                let figures = phase.priorities[priority.rawValue]!
                let label =
                    priority == .critical
                    ? phase.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + " " + phase.controller.padding(toLength: 4, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: 29)
                lines.append(
                    label + "  " + Self.left(priority.rawValue, 8)
                        + String(format: " %8d %10.0f ", figures.offered, figures.goodput)
                        + Self.right(Self.milliseconds(figures.p50Milliseconds), 8) + " "
                        + Self.right(Self.milliseconds(figures.p99Milliseconds), 8)
                        + String(
                            format: " %8d %10d %8d", figures.shed, figures.throttled,
                            figures.unsent))
            }
            var summary =
                String(repeating: " ", count: 31)
                + String(
                    format: "goodput %.1f%% of capacity %.0f/s, max lag %d msgs / %.3f s, "
                        + "peak queued %d B, peak RSS %.1f MiB",
                    phase.goodputShareOfCapacity * 100, phase.capacity, phase.maxLagMessages,
                    phase.maxLagSeconds,
                    phase.peakQueuedBytes, Double(phase.peakRSSBytes) / 1_048_576)
            if let settle = phase.settleSeconds {
                summary +=
                    settle.map { String(format: ", settled in %.2f s", $0) }
                    ?? ", never settled"
                summary += String(format: " (overshoot %.0f%%)", (phase.overshoot ?? 0) * 100)
            }
            lines.append(summary)
        }
        lines.append("goals:")
        for goal in goals {
            lines.append("  [\(goal.met ? "met" : "not met")] \(goal.goal): \(goal.measured)")
        }
        return lines.joined(separator: "\n")
    }

    private static func left(_ text: String, _ width: Int) -> String {
        text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0)
    }

    private static func right(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "-"
    }
}
