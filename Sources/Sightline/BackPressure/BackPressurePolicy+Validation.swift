extension BackPressurePolicy {
    /// Checks every value's range and the thresholds' order.
    ///
    /// Field names in the violation are spelled as in the policy file, so that the file
    /// adapter can point at the line.
    ///
    /// - Throws: ``PolicyViolation`` for the first problem found, in file order.
    public func validate() throws(PolicyViolation) {
        try Self.require(
            tick >= .milliseconds(1) && tick <= .seconds(60), "tick",
            "must be from 1ms to 60s (got \(tick.policyText))")
        try Self.require(
            (1...1000).contains(staleAfterTicks), "stale_after_ticks",
            "must be from 1 to 1000 (got \(staleAfterTicks))")
        try Self.requirePositive(defaultLagTarget, "default_lag_target")
        try Self.requirePositive(maxDelay, "max_delay")
        try Self.require(
            (1...1024).contains(cohorts), "cohorts", "must be from 1 to 1024 (got \(cohorts))")
        try Self.require(
            probeShare >= 0 && probeShare <= 0.5, "probe_share",
            "must be from 0 to 0.5 (got \(probeShare))")
        try validateThresholds()
        try validateRate()
        try validateMemory()

        for name in channels.keys.sorted() {
            try Self.requirePositive(channels[name]!.lagTarget, "channels.\(name).lag_target")
        }
        for name in producers.keys.sorted() {
            if let delay = producers[name]!.maxDelay {
                try Self.requirePositive(delay, "producers.\(name).max_delay")
            }
        }
    }

    private func validateThresholds() throws(PolicyViolation) {
        let levels = thresholds
        try Self.require(
            levels.throttleStart > 0, "thresholds.throttle_start",
            "must be above 0 (got \(levels.throttleStart))")
        try Self.require(
            levels.throttleStop >= 0 && levels.throttleStop < levels.throttleStart,
            "thresholds.throttle_stop",
            "must be at least 0 and below throttle_start \(levels.throttleStart) "
                + "(got \(levels.throttleStop))")
        try Self.require(
            levels.shedStart > levels.throttleStart, "thresholds.shed_start",
            "must be above throttle_start \(levels.throttleStart) (got \(levels.shedStart))")
        try Self.require(
            levels.shedStop >= levels.throttleStart && levels.shedStop < levels.shedStart,
            "thresholds.shed_stop",
            "must be at least throttle_start \(levels.throttleStart) and below shed_start "
                + "\(levels.shedStart) (got \(levels.shedStop))")
        try Self.require(
            levels.minimumDwell >= .zero && levels.minimumDwell <= .seconds(600),
            "thresholds.minimum_dwell",
            "must be from 0s to 600s (got \(levels.minimumDwell.policyText))")
    }

    private func validateRate() throws(PolicyViolation) {
        try Self.require(
            rate.maxDecreasePerTick > 0 && rate.maxDecreasePerTick < 1,
            "rate.max_decrease_per_tick",
            "must be above 0 and below 1 (got \(rate.maxDecreasePerTick))")
        try Self.require(
            rate.increaseShare > 0 && rate.increaseShare <= 1, "rate.increase_share",
            "must be above 0 and at most 1 (got \(rate.increaseShare))")
        try Self.require(
            (1...1000).contains(rate.calmTicksBeforeIncrease), "rate.calm_ticks_before_increase",
            "must be from 1 to 1000 (got \(rate.calmTicksBeforeIncrease))")
        try Self.require(
            rate.smoothing > 0 && rate.smoothing <= 1, "rate.smoothing",
            "must be above 0 and at most 1 (got \(rate.smoothing))")
        try Self.require(
            (0...100).contains(rate.trendTicks), "rate.trend_ticks",
            "must be from 0 to 100 (got \(rate.trendTicks))")
        try Self.require(
            rate.gain > 0 && rate.gain <= 10, "rate.gain",
            "must be above 0 and at most 10 (got \(rate.gain))")
        try Self.requirePositive(rate.integralTime, "rate.integral_time")
        try Self.require(
            rate.maxIncreasePerTick > 0 && rate.maxIncreasePerTick <= 10,
            "rate.max_increase_per_tick",
            "must be above 0 and at most 10 (got \(rate.maxIncreasePerTick))")
    }

    private func validateMemory() throws(PolicyViolation) {
        if let soft = memory.softLimitBytes {
            try Self.require(soft > 0, "memory.soft_limit", "must be above 0 bytes (got \(soft))")
        }
        if let hard = memory.hardLimitBytes {
            try Self.require(hard > 0, "memory.hard_limit", "must be above 0 bytes (got \(hard))")
            if let soft = memory.softLimitBytes {
                try Self.require(
                    hard > soft, "memory.hard_limit",
                    "must be above soft_limit \(soft) bytes (got \(hard))")
            }
        }
    }

    private static func require(_ condition: Bool, _ field: String, _ reason: String)
        throws(PolicyViolation)
    {
        if !condition { throw PolicyViolation(field: field, reason: reason) }
    }

    private static func requirePositive(_ value: Duration, _ field: String)
        throws(PolicyViolation)
    {
        try require(
            value > .zero && value <= .seconds(3600), field,
            "must be above 0s and at most 3600s (got \(value.policyText))")
    }
}
