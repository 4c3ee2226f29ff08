/// How far one subscriber group is behind on one channel, at one moment.
public struct LagReport: Hashable, Sendable {
    public var channel: String
    public var group: String
    /// Messages accepted for the group and not yet settled.
    public var waiting: Int
    /// The age of the oldest unsettled message; zero when none waits.
    public var oldestAge: Duration
    /// Messages settled per second, smoothed (an exponentially weighted moving average).
    public var drainRate: Double
    /// Approximate bytes the group holds.
    public var queuedBytes: Int
    /// When the report was taken, on the monitor's clock.
    public var at: Duration

    public init(
        channel: String, group: String, waiting: Int, oldestAge: Duration, drainRate: Double,
        queuedBytes: Int = 0, at: Duration
    ) {
        self.channel = channel
        self.group = group
        self.waiting = waiting
        self.oldestAge = oldestAge
        self.drainRate = drainRate
        self.queuedBytes = queuedBytes
        self.at = at
    }

    /// How long the group needs to catch up: the larger of the oldest message's age and the
    /// waiting messages divided by the drain rate. With no drain rate measured yet, the
    /// oldest age alone.
    public var timeBehind: Duration {
        let byAge = oldestAge.seconds
        let byCount = drainRate > 0 ? Double(waiting) / drainRate : 0
        return .seconds(max(byAge, byCount))
    }
}
