import Synchronization

/// Adaptive back-pressure: turns consumer lag into admit, throttle and shed decisions, per
/// channel and by priority.
///
/// Each tick (``ingest(_:at:)``, fed by a ``LagMonitor``) the controller converts each
/// channel's worst lag into a time behind, smooths it, projects its trend and divides by
/// the channel's lag target to get a pressure. Above `throttle_start` it limits the channel
/// to an admitted rate that it moves by additive increase and bounded multiplicative
/// decrease, and hands that rate out strictly from critical down to low. Critical messages
/// are never shed by the rate, only by the hard memory limit.
///
/// ``decide(channel:priority:producer:timeToLive:)`` takes one short lock and never waits.
/// The controller keeps at most `channelLimit` channels; messages on further channels are
/// admitted unregulated.
public final class BackPressureController: AdmissionControl {
    private struct State {
        var policy: BackPressurePolicy
        var channels: [String: ChannelRegulator] = [:]
        var reportedBytes = 0
        var averageCopyBytes = 512.0
        var copiesSinceReport = 0
        var refusedByHardLimit: UInt64 = 0
        var shedBySoftLimit: UInt64 = 0
        var rejectedPolicies: UInt64 = 0
        var delaySamples = RingBuffer<Duration>()
        var memoryReason: (estimate: Int, isHard: Bool, text: String)?
    }

    /// The most channels regulated; further channels are admitted unregulated.
    public let channelLimit: Int
    /// The most throttle delays kept for ``takeDelaySamples()``.
    public let delaySampleLimit: Int
    private let state: Mutex<State>
    private let logger: Logger

    /// - Throws: ``PolicyViolation`` when `policy` is invalid.
    public init(
        policy: BackPressurePolicy = BackPressurePolicy(), logger: Logger = .disabled,
        channelLimit: Int = 1024, delaySampleLimit: Int = 4096
    ) throws(PolicyViolation) {
        try policy.validate()
        self.state = Mutex(State(policy: policy))
        self.logger = logger.withComponent("sightline.backpressure")
        self.channelLimit = max(1, channelLimit)
        self.delaySampleLimit = max(1, delaySampleLimit)
    }

    /// The policy in force.
    public var policy: BackPressurePolicy { state.withLock { $0.policy } }

    /// Replaces the policy; an invalid one is refused, logged, and the previous one stays.
    ///
    /// - Throws: ``PolicyViolation`` when `policy` is invalid.
    public func update(policy: BackPressurePolicy) throws(PolicyViolation) {
        do {
            try policy.validate()
        } catch {
            state.withLock { $0.rejectedPolicies += 1 }
            logger.warning(
                "policy refused; the previous policy stays in force",
                [LogKey.setting: error.field, LogKey.reason: error.reason])
            throw error
        }
        state.withLock { $0.policy = policy }
        logger.info("policy updated")
    }

    // MARK: Decisions

    public func decide(
        channel: String, priority: Priority, producer: String?, timeToLive: Duration?
    ) -> AdmissionDecision {
        state.withLock { state in
            let policy = state.policy
            let producerPolicy = producer.flatMap { policy.producers[$0] }
            let priority = producerPolicy?.priority ?? priority

            if let refusal = memoryRefusal(&state, priority: priority) {
                state.channels[channel]?.shed[priority.rank] += 1
                return refusal
            }

            guard let regulator = takeRegulator(&state, channel: channel) else { return .admit }
            regulator.countOffer(priority)

            let cohort = producer.map { Self.cohort(of: $0, count: policy.cohorts) }
            if regulator.state == .calm || priority == .critical
                || regulator.admits(
                    priority, cohort: cohort, cohortCount: policy.cohorts,
                    probeShare: policy.probeShare)
            {
                regulator.admitted[priority.rank] += 1
                state.copiesSinceReport += regulator.groupCount
                return .admit
            }

            let target = policy.lagTarget(of: channel)
            // A message whose time to live is under two ticks would expire before a tick
            // could show relief: shed it rather than delay it. Only the highest priority
            // over its share is delayed; below it everything over share is shed.
            if regulator.state == .throttling, producerPolicy?.toleratesDelay == true,
                regulator.isMarginal(priority),
                timeToLive.map({ $0 / 2 >= policy.tick }) ?? true
            {
                let longest = min(
                    producerPolicy?.maxDelay ?? policy.maxDelay,
                    timeToLive.map { $0 / 2 } ?? .seconds(3600))
                let delay = min(regulator.excessBehind(target: target, tick: policy.tick), longest)
                regulator.throttled[priority.rank] += 1
                state.copiesSinceReport += regulator.groupCount
                if state.delaySamples.count >= delaySampleLimit {
                    _ = state.delaySamples.popFirst()
                }
                state.delaySamples.append(delay)
                return .throttle(delay: delay)
            }

            regulator.shed[priority.rank] += 1
            return .shed(
                retryAfter: regulator.retryAfter(tick: policy.tick),
                reason: regulator.shedReasons[priority.rank])
        }
    }

    private func memoryRefusal(_ state: inout State, priority: Priority) -> AdmissionDecision? {
        let limits = state.policy.memory
        guard limits.softLimitBytes != nil || limits.hardLimitBytes != nil else { return nil }
        let estimate = estimatedBytes(state)
        let retryAfter = state.policy.tick * 10

        if let hard = limits.hardLimitBytes, estimate >= hard {
            state.refusedByHardLimit += 1
            return .shed(
                retryAfter: retryAfter,
                reason: memoryReason(&state, estimate: estimate, limit: hard, isHard: true))
        }
        if let soft = limits.softLimitBytes, estimate >= soft, priority != .critical {
            state.shedBySoftLimit += 1
            return .shed(
                retryAfter: retryAfter,
                reason: memoryReason(&state, estimate: estimate, limit: soft, isHard: false))
        }
        return nil
    }

    /// The memory refusal's text, rebuilt only when the estimate moved, since once over a
    /// limit the same text goes out with every refusal.
    private func memoryReason(_ state: inout State, estimate: Int, limit: Int, isHard: Bool)
        -> String
    {
        if let cached = state.memoryReason, cached.estimate == estimate,
            cached.isHard == isHard
        {
            return cached.text
        }
        let text =
            isHard
            ? "queued bytes (about \(estimate)) reached the hard memory limit of \(limit) "
                + "bytes; every message is refused"
            : "queued bytes (about \(estimate)) reached the soft memory limit of \(limit) "
                + "bytes; only critical messages are admitted"
        state.memoryReason = (estimate, isHard, text)
        return text
    }

    // Not yet: the estimate adds what was admitted since the last report but subtracts
    // nothing for what consumers drained meanwhile, so near a limit it errs high and sheds
    // up to one tick's drain early.
    private func estimatedBytes(_ state: State) -> Int {
        state.reportedBytes + Int(Double(state.copiesSinceReport) * state.averageCopyBytes)
    }

    private func takeRegulator(_ state: inout State, channel: String) -> ChannelRegulator? {
        if let existing = state.channels[channel] { return existing }
        guard state.channels.count < channelLimit else { return nil }
        let created = ChannelRegulator(channel: channel)
        state.channels[channel] = created
        return created
    }

    // MARK: Ticks

    /// Feeds one tick's lag reports and recomputes every channel's regulation.
    ///
    /// Call once per tick with every group's report. A channel the controller knows that
    /// has no report in `reports` counts a missed tick; after `stale_after_ticks` of them its
    /// growth freezes until reports return.
    public func ingest(_ reports: [LagReport], at now: Duration) {
        var worst: [String: LagReport] = [:]
        var groups: [String: Int] = [:]
        var bytes = 0
        var waiting = 0
        for report in reports {
            bytes += report.queuedBytes
            waiting += report.waiting
            groups[report.channel, default: 0] += 1
            if let current = worst[report.channel], current.timeBehind >= report.timeBehind {
                continue
            }
            worst[report.channel] = report
        }

        state.withLock { state in
            state.reportedBytes = bytes
            state.copiesSinceReport = 0
            if waiting > 0 { state.averageCopyBytes = Double(bytes) / Double(waiting) }

            let policy = state.policy
            var names = Set(state.channels.keys)
            for channel in worst.keys
            where state.channels.count < channelLimit || names.contains(channel) {
                if state.channels[channel] == nil {
                    state.channels[channel] = ChannelRegulator(channel: channel)
                }
                names.insert(channel)
            }
            for name in names {
                state.channels[name]!.tick(
                    report: worst[name], groups: groups[name] ?? 0, at: now, policy: policy,
                    target: policy.lagTarget(of: name))
            }
        }
    }

    // MARK: Statistics

    /// A snapshot of pressure, rates and decision counts.
    public func statistics() -> BackPressureStatistics {
        state.withLock { state in
            var channels: [String: BackPressureStatistics.ChannelStatistics] = [:]
            for (name, regulator) in state.channels {
                channels[name] = Self.statistics(of: regulator)
            }
            return BackPressureStatistics(
                channels: channels, estimatedQueuedBytes: estimatedBytes(state),
                refusedByHardLimit: state.refusedByHardLimit,
                shedBySoftLimit: state.shedBySoftLimit, rejectedPolicies: state.rejectedPolicies)
        }
    }

    /// The throttle delays handed out since the last call (at most `delaySampleLimit`, the
    /// newest kept), for a delay histogram.
    public func takeDelaySamples() -> [Duration] {
        state.withLock { state in
            var samples: [Duration] = []
            samples.reserveCapacity(state.delaySamples.count)
            while let sample = state.delaySamples.popFirst() { samples.append(sample) }
            return samples
        }
    }

    private static func statistics(of regulator: ChannelRegulator)
        -> BackPressureStatistics.ChannelStatistics
    {
        func byPriority<Value>(_ values: [Value]) -> [Priority: Value] {
            Dictionary(uniqueKeysWithValues: Priority.allCases.map { ($0, values[$0.rank]) })
        }
        let admittedRates = zip(regulator.offeredRates, regulator.shares).map { $0 * $1 }
        return BackPressureStatistics.ChannelStatistics(
            state: regulator.state, pressure: regulator.pressure,
            timeBehind: .seconds(regulator.smoothedBehind ?? 0),
            admittedRate: regulator.admittedRate, offeredRate: byPriority(regulator.offeredRates),
            admittedRateByPriority: byPriority(admittedRates),
            admittedShare: byPriority(regulator.shares), drainRate: regulator.drainRate,
            isFrozen: regulator.isFrozen, admitted: byPriority(regulator.admitted),
            throttled: byPriority(regulator.throttled), shed: byPriority(regulator.shed))
    }

    // MARK: Helpers

    /// FNV-1a over the name's UTF-8 bytes: stable across processes, unlike `Hasher`.
    static func cohort(of producer: String, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in producer.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(max(1, count)))
    }
}
