/// The regulation of one channel: pressure, state, admitted rate and per-priority shares.
///
/// Lives only inside the controller's `Mutex` and is changed only under it. A class rather
/// than a struct so that the per-message path mutates it in place: copying a struct out of
/// the dictionary and back would copy its arrays on every decision. `tick` runs once per
/// controller tick; `admits` runs for every offered message and must stay cheap.
final class ChannelRegulator {
    static let priorityCount = Priority.allCases.count

    let channel: String

    private(set) var state = RegulationState.calm
    private(set) var stateSince: Duration = .zero
    /// Smoothed time behind, seconds; nil before the first report.
    private(set) var smoothedBehind: Double?
    private(set) var slope = 0.0
    private(set) var pressure = 0.0
    /// Messages per second admitted across priorities; nil while calm (no limit).
    private(set) var admittedRate: Double?
    private(set) var drainRate = 0.0
    /// Groups reporting on the channel at the last report.
    private(set) var groupCount = 1
    /// Ticks in a row without a report.
    private(set) var missedTicks = 0
    /// Set once reports have been missing for `staleAfterTicks`; growth is frozen.
    private(set) var isFrozen = false
    private(set) var offeredRates = [Double](repeating: 0, count: priorityCount)
    /// Share of each priority's offered messages admitted, by rank.
    private(set) var shares = [Double](repeating: 1, count: priorityCount)

    private var lastReport: LagReport?
    private var calmTicks = 0
    /// The PI controller's integral term.
    private var integral = 0.0
    private var lastTickAt: Duration?
    private var offeredCounts = [Int](repeating: 0, count: priorityCount)
    private var credits = [Double](repeating: 0, count: priorityCount)
    private var probeCredits = [Double](repeating: 0, count: priorityCount)

    /// Why a message of each priority is shed, rebuilt each tick so that shedding costs no
    /// string formatting per message.
    private(set) var shedReasons = [String](repeating: "", count: priorityCount)

    // Decision counters, by priority rank.
    var admitted = [UInt64](repeating: 0, count: priorityCount)
    var throttled = [UInt64](repeating: 0, count: priorityCount)
    var shed = [UInt64](repeating: 0, count: priorityCount)

    init(channel: String) {
        self.channel = channel
    }

    // MARK: Per message

    func countOffer(_ priority: Priority) {
        offeredCounts[priority.rank] += 1
    }

    /// Whether the message fits the priority's admitted share. Named producers hash into
    /// cohorts: lower cohorts are admitted whole, one cohort partly, the rest not at all, so
    /// the same producers are shed while the share stays put. Unnamed producers share one
    /// credit counter that admits the exact fraction in arrival order. Whatever the cohort,
    /// the probe share is admitted by credit, so that every producer sees recovery.
    func admits(
        _ priority: Priority, cohort: Int?, cohortCount: Int, probeShare: Double
    ) -> Bool {
        let rank = priority.rank
        let share = shares[rank]
        if share >= 1 { return true }

        guard let cohort else { return Self.takeCredit(&credits[rank], share) }
        let cohortShare = max(0, share - probeShare) / (1 - probeShare)
        let scaled = cohortShare * Double(cohortCount)
        let whole = Int(scaled)
        if cohort < whole { return true }
        if cohort == whole, Self.takeCredit(&credits[rank], scaled - Double(whole)) { return true }
        return Self.takeCredit(&probeCredits[rank], probeShare)
    }

    private static func takeCredit(_ credit: inout Double, _ share: Double) -> Bool {
        // The tolerance keeps sums such as fifty times 0.02 from falling just short of 1.
        credit += share
        guard credit >= 1 - 1e-9 else { return false }
        credit -= 1
        return true
    }

    /// True when every priority above `priority` is admitted whole: only then may its
    /// messages over share be delayed instead of shed, so that a delayed lower priority
    /// never overtakes a shed higher one.
    func isMarginal(_ priority: Priority) -> Bool {
        Priority.allCases.allSatisfy { $0 >= priority || shares[$0.rank] >= 1 }
    }

    /// How long beyond its target the channel is behind, at least one tick.
    func excessBehind(target: Duration, tick: Duration) -> Duration {
        let excess = (smoothedBehind ?? 0) - target.seconds
        return max(tick, Self.wholeMilliseconds(excess))
    }

    /// The smoothed time behind, at least one tick and at most a minute: how long a shed
    /// producer should wait before offering again.
    func retryAfter(tick: Duration) -> Duration {
        min(max(tick, Self.wholeMilliseconds(smoothedBehind ?? 0)), .seconds(60))
    }

    static func wholeMilliseconds(_ seconds: Double) -> Duration {
        .milliseconds(Int64((max(0, min(seconds, 1e6)) * 1000).rounded()))
    }

    // MARK: Per tick

    /// Recomputes pressure, state, rate and shares from the channel's worst report, or
    /// from none when no report came this tick.
    func tick(
        report: LagReport?, groups: Int, at now: Duration, policy: BackPressurePolicy,
        target: Duration
    ) {
        let elapsed = lastTickAt.map { (now - $0).seconds } ?? policy.tick.seconds
        lastTickAt = now
        guard elapsed > 0 else { return }
        updateOfferedRates(elapsed: elapsed, smoothing: policy.rate.smoothing)

        // A missing report reuses the last one for a few ticks; beyond that the channel is
        // stale and nothing may grow or step down until reports come back.
        var current = report
        if report == nil {
            missedTicks += 1
            isFrozen = missedTicks >= policy.staleAfterTicks
            if isFrozen { current = nil } else { current = lastReport }
        } else {
            missedTicks = 0
            isFrozen = false
            lastReport = report
            groupCount = max(1, groups)
        }

        if let current {
            updatePressure(current, elapsed: elapsed, policy: policy, target: target)
            updateState(at: now, thresholds: policy.thresholds)
            switch policy.rate.mode {
            case .pi: updateRateProportionalIntegral(policy.rate, elapsed: elapsed)
            case .aimd: updateRateAdditiveIncrease(policy.rate)
            }
        }
        updateShares(probeShare: policy.probeShare)
        updateShedReasons()
    }

    private func updateShedReasons() {
        let rounded = String(Double(Int((pressure * 100).rounded())) / 100)
        for priority in Priority.allCases {
            shedReasons[priority.rank] =
                "channel \(channel) is \(state.rawValue) at pressure \(rounded); "
                + "\(priority.rawValue) priority is over its admitted share"
        }
    }

    private func updateOfferedRates(elapsed: Double, smoothing: Double) {
        for rank in 0..<Self.priorityCount {
            let instant = Double(offeredCounts[rank]) / elapsed
            offeredRates[rank] = smoothing * instant + (1 - smoothing) * offeredRates[rank]
            offeredCounts[rank] = 0
        }
    }

    private func updatePressure(
        _ report: LagReport, elapsed: Double, policy: BackPressurePolicy, target: Duration
    ) {
        drainRate = report.drainRate
        let behind = report.timeBehind.seconds
        let alpha = policy.rate.smoothing
        let previous = smoothedBehind
        let smoothed = previous.map { alpha * behind + (1 - alpha) * $0 } ?? behind
        smoothedBehind = smoothed
        slope = previous.map { (smoothed - $0) / elapsed } ?? 0

        let horizon = Double(policy.rate.trendTicks) * policy.tick.seconds
        let projected = max(0, smoothed + slope * horizon)
        pressure = projected / target.seconds
    }

    private func updateState(at now: Duration, thresholds: BackPressurePolicy.Thresholds) {
        // Escalation is immediate; stepping down waits out the dwell, and never happens on
        // stale data. Regulation ends only once the admitted rate no longer holds anyone
        // back, otherwise lifting it would bring the same overload straight back.
        let dwelt = now - stateSince >= thresholds.minimumDwell && !isFrozen
        let unconstrained = (admittedRate ?? .infinity) >= offeredRates.reduce(0, +)
        switch state {
        case .calm:
            if pressure >= thresholds.shedStart {
                enter(.shedding, at: now)
            } else if pressure >= thresholds.throttleStart {
                enter(.throttling, at: now)
            }
        case .throttling:
            if pressure >= thresholds.shedStart {
                enter(.shedding, at: now)
            } else if pressure < thresholds.throttleStop && dwelt && unconstrained {
                enter(.calm, at: now)
            }
        case .shedding:
            if pressure < thresholds.throttleStop && dwelt && unconstrained {
                enter(.calm, at: now)
            } else if pressure < thresholds.shedStop && dwelt {
                enter(.throttling, at: now)
            }
        }
    }

    private func enter(_ next: RegulationState, at now: Duration) {
        if state == .calm {
            // Start from what the consumers proved they can take.
            let offered = offeredRates.reduce(0, +)
            admittedRate = drainRate > 0 ? drainRate : max(1, offered / 2)
            calmTicks = 0
            integral = 0
        }
        if next == .calm {
            admittedRate = nil
            credits = [Double](repeating: 0, count: Self.priorityCount)
            probeCredits = credits
        }
        state = next
        stateSince = now
    }

    private func updateRateProportionalIntegral(
        _ control: BackPressurePolicy.RateControl, elapsed: Double
    ) {
        guard state != .calm, admittedRate != nil else { return }

        // The error is how far the projected time behind is under target, in targets. The
        // integral is bounded so that a long stretch on one side cannot wind it up; a stale
        // channel keeps its integral where it was.
        let error = 1 - pressure
        if !isFrozen {
            integral += error * elapsed / control.integralTime.seconds
            integral = min(0.5, max(-0.5, integral))
        }
        var factor = 1 + control.gain * error + integral
        factor = min(1 + control.maxIncreasePerTick, max(1 - control.maxDecreasePerTick, factor))
        if isFrozen { factor = min(factor, 1) }

        let base = drainRate > 0 ? drainRate : admittedRate!
        let ceiling = 2 * max(offeredRates.reduce(0, +), drainRate, 1)
        admittedRate = min(max(base * factor, 1), ceiling)
    }

    private func updateRateAdditiveIncrease(_ control: BackPressurePolicy.RateControl) {
        guard state != .calm, var rate = admittedRate else { return }

        if pressure > 1 && slope >= 0 {
            // Multiplicative decrease, in proportion to the overshoot but bounded per tick.
            rate *= max(1 - control.maxDecreasePerTick, 1 / pressure)
            calmTicks = 0
        } else if pressure < 1 {
            calmTicks += 1
            if calmTicks >= control.calmTicksBeforeIncrease && !isFrozen {
                rate += control.increaseShare * max(drainRate, rate)
            }
        } else {
            // Above target but already falling: hold.
            calmTicks = 0
        }

        // A rate far above both demand and drain does not constrain anyone; keep it near
        // them so that it can bite at once when needed.
        let ceiling = 2 * max(offeredRates.reduce(0, +), drainRate, 1)
        admittedRate = min(max(rate, 1), ceiling)
    }

    /// Hands the admitted rate out from the highest priority down. Critical is always
    /// admitted whole; it still uses up the rate.
    private func updateShares(probeShare: Double) {
        guard state != .calm, let rate = admittedRate else {
            shares = [Double](repeating: 1, count: Self.priorityCount)
            return
        }
        var remaining = rate - offeredRates[Priority.critical.rank]
        shares[Priority.critical.rank] = 1
        for priority in Priority.allCases where priority != .critical {
            let offered = offeredRates[priority.rank]
            guard offered > 0 else {
                shares[priority.rank] = remaining > 0 ? 1 : probeShare
                continue
            }
            let granted = min(offered, max(0, remaining))
            shares[priority.rank] = max(granted / offered, probeShare)
            remaining -= granted
        }
    }
}
