import Foundation

/// The back-pressure controller against a simulated bus in virtual time, so that its
/// stability can be tested repeatably.
///
/// One channel, one subscriber group with a single consumer, open-loop Poisson arrivals per
/// priority from named producers, and a service time that may change mid-run. Time moves in
/// fixed steps; every random draw comes from one seeded generator, so a scenario with the
/// same seed gives the same outcome on every machine.
public struct BackPressureSimulation: Sendable {
    /// What to simulate.
    public struct Scenario: Sendable {
        public var seed: UInt64
        public var duration: Duration
        /// The virtual time step. Default 1 ms.
        public var step: Duration
        /// Messages per second the consumer handles at full speed.
        public var capacity: Double
        /// The offered load over time, as a multiple of `capacity`.
        public var load: @Sendable (Duration) -> Double
        /// Each priority's share of the offered load.
        public var mix: [Priority: Double]
        /// From `at` on, the consumer takes `factor` times as long per message.
        public var slowdown: (at: Duration, factor: Double)?
        public var policy: BackPressurePolicy
        /// False runs the same arrivals with no controller (only the queue's capacity).
        public var controllerEnabled: Bool
        public var producersPerPriority: Int
        /// The queue's capacity; arrivals beyond it are refused (counted as queue-full).
        public var queueCapacity: Int
        public var bytesPerMessage: Int

        public init(
            seed: UInt64, duration: Duration, step: Duration = .milliseconds(1),
            capacity: Double, load: @escaping @Sendable (Duration) -> Double,
            mix: [Priority: Double] = [.critical: 0.1, .high: 0.2, .normal: 0.3, .low: 0.4],
            slowdown: (at: Duration, factor: Double)? = nil,
            policy: BackPressurePolicy, controllerEnabled: Bool = true,
            producersPerPriority: Int = 8, queueCapacity: Int = 100_000,
            bytesPerMessage: Int = 300
        ) {
            self.seed = seed
            self.duration = duration
            self.step = step
            self.capacity = capacity
            self.load = load
            self.mix = mix
            self.slowdown = slowdown
            self.policy = policy
            self.controllerEnabled = controllerEnabled
            self.producersPerPriority = producersPerPriority
            self.queueCapacity = queueCapacity
            self.bytesPerMessage = bytesPerMessage
        }
    }

    /// The state at one controller tick.
    public struct Sample: Hashable, Sendable {
        public var at: Duration
        /// Time behind as reported to the controller (unsmoothed).
        public var timeBehind: Duration
        public var waiting: Int
        public var pressure: Double
        public var state: RegulationState
        public var admittedRate: Double?
        /// Messages handled since the previous sample.
        public var handled: Int
    }

    /// Counts for one priority over the whole run.
    public struct PriorityOutcome: Hashable, Sendable {
        public var offered = 0
        public var admitted = 0
        public var throttled = 0
        public var shed = 0
        public var queueFull = 0
        public var handled = 0
        /// Latency from arrival (the first offer, for throttled messages) to handled.
        public var latencies: [Duration] = []

        /// The latency below which `share` of handled messages fall.
        public func percentile(_ share: Double) -> Duration {
            guard !latencies.isEmpty else { return .zero }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))]
        }
    }

    /// Everything a run produced.
    public struct Outcome: Sendable {
        public var samples: [Sample]
        public var priorities: [Priority: PriorityOutcome]
        public var tick: Duration

        /// Messages handled per second over `[from, to)`.
        public func goodput(from: Duration, to: Duration) -> Double {
            let handled = samples.filter { $0.at > from && $0.at <= to }.reduce(0) {
                $0 + $1.handled
            }
            return Double(handled) / (to - from).seconds
        }

        /// The time after `from` until time behind stays at or below `band` for the rest of
        /// `[from, to)`; nil when it is still above at `to`.
        public func settlingTime(from: Duration, to: Duration, band: Duration) -> Duration? {
            let window = samples.filter { $0.at >= from && $0.at < to }
            guard let last = window.last else { return nil }
            if last.timeBehind > band { return nil }
            guard let violation = window.last(where: { $0.timeBehind > band }) else {
                return .zero
            }
            return violation.at + tick - from
        }

        /// The peak time behind in `[from, to)` over `target`, minus one (0 when never
        /// above target).
        public func overshoot(from: Duration, to: Duration, target: Duration) -> Double {
            let peak = samples.filter { $0.at >= from && $0.at < to }.map(\.timeBehind).max()
            return max(0, (peak ?? .zero).seconds / target.seconds - 1)
        }

        /// How many times the regulation state changed in `[from, to)`.
        public func stateChanges(from: Duration, to: Duration) -> Int {
            let window = samples.filter { $0.at >= from && $0.at < to }
            return zip(window, window.dropFirst()).filter { $0.state != $1.state }.count
        }
    }

    private struct Pending {
        var arrival: Duration
        var priority: Priority
    }

    public let scenario: Scenario

    public init(_ scenario: Scenario) {
        self.scenario = scenario
    }

    /// Runs the scenario to its end.
    ///
    /// - Throws: ``PolicyViolation`` when the scenario's policy is invalid.
    public func run() throws(PolicyViolation) -> Outcome {
        let controller = try BackPressureController(policy: scenario.policy)
        var random = SplitMix64(seed: scenario.seed)
        var builder = LagReportBuilder()
        let groupKey = GroupKey(channel: "sim", group: "consumer")
        let idle = QueueLag(
            waiting: 0, inFlight: 0, oldestAge: .zero, capacity: scenario.queueCapacity,
            settledTotal: 0, queuedBytes: 0)
        _ = builder.reports(from: [groupKey: idle], at: .zero)
        var queue = RingBuffer<Pending>()
        var retries: [Int64: [Pending]] = [:]
        var outcome = Outcome(samples: [], priorities: [:], tick: scenario.policy.tick)
        for priority in Priority.allCases { outcome.priorities[priority] = PriorityOutcome() }

        let priorities = Priority.allCases.filter { (scenario.mix[$0] ?? 0) > 0 }
        var nextArrival: [Priority: Duration] = [:]
        var producerTurn: [Priority: Int] = [:]
        for priority in priorities { nextArrival[priority] = .zero }

        var now = Duration.zero
        var serviceEnds: Duration?
        var settledTotal: UInt64 = 0
        var handledSinceSample = 0
        var nextTick = scenario.policy.tick
        let stepNanos = scenario.step.nanoseconds

        func offer(_ pending: Pending, producer: String, firstOffer: Bool) {
            if firstOffer { outcome.priorities[pending.priority]!.offered += 1 }
            let decision =
                scenario.controllerEnabled
                ? controller.decide(
                    channel: "sim", priority: pending.priority, producer: producer,
                    timeToLive: nil)
                : .admit
            switch decision {
            case .admit:
                guard queue.count < scenario.queueCapacity else {
                    outcome.priorities[pending.priority]!.queueFull += 1
                    return
                }
                outcome.priorities[pending.priority]!.admitted += 1
                queue.append(pending)
            case .throttle(let delay):
                outcome.priorities[pending.priority]!.throttled += 1
                let due = (now + delay).nanoseconds / stepNanos
                retries[due, default: []].append(pending)
            case .shed:
                outcome.priorities[pending.priority]!.shed += 1
            }
        }

        while now < scenario.duration {
            // Arrivals of this step, then throttled messages whose delay is over.
            let rateScale = scenario.load(now) * scenario.capacity
            for priority in priorities {
                let rate = rateScale * scenario.mix[priority]!
                guard rate > 0 else { continue }
                while nextArrival[priority]! <= now {
                    let turn = producerTurn[priority, default: 0]
                    producerTurn[priority] = turn + 1
                    let name = "\(priority.rawValue)-\(turn % scenario.producersPerPriority)"
                    offer(
                        Pending(arrival: nextArrival[priority]!, priority: priority),
                        producer: name, firstOffer: true)
                    let gap = -Foundation.log(1 - random.nextUnit()) / rate
                    nextArrival[priority]! += .seconds(gap)
                }
            }
            if let due = retries.removeValue(forKey: now.nanoseconds / stepNanos) {
                for pending in due {
                    // A throttled publish goes ahead once its delay is over.
                    outcome.priorities[pending.priority]!.admitted += 1
                    if queue.count < scenario.queueCapacity {
                        queue.append(pending)
                    } else {
                        outcome.priorities[pending.priority]!.queueFull += 1
                    }
                }
            }

            // The consumer: one message at a time, each taking its service time.
            let factor = scenario.slowdown.map { now >= $0.at ? $0.factor : 1 } ?? 1
            let service = Duration.seconds(factor / scenario.capacity)
            var cursor = serviceEnds ?? now
            while let head = queue.first, max(cursor, head.arrival) + service <= now + scenario.step
            {
                cursor = max(cursor, head.arrival) + service
                _ = queue.popFirst()
                settledTotal += 1
                handledSinceSample += 1
                outcome.priorities[head.priority]!.handled += 1
                outcome.priorities[head.priority]!.latencies.append(cursor - head.arrival)
            }
            serviceEnds = queue.isEmpty ? nil : cursor

            now += scenario.step
            if now >= nextTick {
                nextTick += scenario.policy.tick
                let oldest = queue.first.map { now - $0.arrival } ?? .zero
                let lag = QueueLag(
                    waiting: queue.count, inFlight: queue.isEmpty ? 0 : 1, oldestAge: oldest,
                    capacity: scenario.queueCapacity, settledTotal: settledTotal,
                    queuedBytes: queue.count * scenario.bytesPerMessage)
                let reports = builder.reports(from: [groupKey: lag], at: now)
                if scenario.controllerEnabled { controller.ingest(reports, at: now) }
                let channel = controller.statistics().channels["sim"]
                outcome.samples.append(
                    Sample(
                        at: now, timeBehind: reports[0].timeBehind, waiting: queue.count,
                        pressure: channel?.pressure ?? 0, state: channel?.state ?? .calm,
                        admittedRate: channel?.admittedRate, handled: handledSinceSample))
                handledSinceSample = 0
            }
        }
        return outcome
    }
}
