/// A snapshot of what the back-pressure controller sees and decides, for metrics and
/// reports. Counts are cumulative since the controller was made.
public struct BackPressureStatistics: Hashable, Sendable {
    /// One channel's regulation.
    public struct ChannelStatistics: Hashable, Sendable {
        public var state: RegulationState
        /// Projected time behind over the lag target; 1 is on target.
        public var pressure: Double
        /// Smoothed time behind of the channel's slowest group.
        public var timeBehind: Duration
        /// Messages per second the controller admits across priorities; nil while calm.
        public var admittedRate: Double?
        /// Smoothed messages per second offered, by priority.
        public var offeredRate: [Priority: Double]
        /// The offered rate times the admitted share, by priority.
        public var admittedRateByPriority: [Priority: Double]
        /// The share of offered messages admitted, by priority.
        public var admittedShare: [Priority: Double]
        /// The slowest group's smoothed drain rate, messages per second.
        public var drainRate: Double
        /// No report for `staleAfterTicks` ticks: growth is frozen.
        public var isFrozen: Bool
        public var admitted: [Priority: UInt64]
        public var throttled: [Priority: UInt64]
        public var shed: [Priority: UInt64]
    }

    public var channels: [String: ChannelStatistics]
    /// Bytes the bus's queues held at the last report, plus an estimate for what was
    /// admitted since.
    public var estimatedQueuedBytes: Int
    /// Messages refused by the hard memory limit, critical included.
    public var refusedByHardLimit: UInt64
    /// Messages shed by the soft memory limit.
    public var shedBySoftLimit: UInt64
    /// Policy updates refused because the policy was invalid.
    public var rejectedPolicies: UInt64

    /// Admitted messages summed over channels, by priority.
    public var admitted: [Priority: UInt64] { sum(\.admitted) }
    /// Throttled messages summed over channels, by priority.
    public var throttled: [Priority: UInt64] { sum(\.throttled) }
    /// Shed messages summed over channels, by priority (memory limits included).
    public var shed: [Priority: UInt64] { sum(\.shed) }

    private func sum(_ path: KeyPath<ChannelStatistics, [Priority: UInt64]>)
        -> [Priority: UInt64]
    {
        var total: [Priority: UInt64] = [:]
        for priority in Priority.allCases { total[priority] = 0 }
        for channel in channels.values {
            for (priority, count) in channel[keyPath: path] { total[priority]! += count }
        }
        return total
    }
}
