/// The load-shedding policy: what the back-pressure controller aims for and how hard it
/// pushes back. A value; the defaults suit one process with sub-second work.
///
/// Check a policy with ``validate()`` before handing it to a controller; the controller
/// refuses an invalid one and keeps its previous policy.
public struct BackPressurePolicy: Hashable, Sendable {
    /// The lag target of one channel.
    public struct Channel: Hashable, Sendable {
        /// How far behind the channel's slowest group may fall before pressure reaches 1.
        public var lagTarget: Duration

        public init(lagTarget: Duration) {
            self.lagTarget = lagTarget
        }
    }

    /// What the policy says about one named producer.
    public struct Producer: Hashable, Sendable {
        /// Replaces the priority of the producer's messages for admission; nil keeps the
        /// message's own priority.
        public var priority: Priority?
        /// The producer can wait: at moderate pressure its messages are throttled rather
        /// than shed.
        public var toleratesDelay: Bool
        /// The longest throttle delay for this producer; nil uses the policy's `maxDelay`.
        public var maxDelay: Duration?

        public init(
            priority: Priority? = nil, toleratesDelay: Bool = false, maxDelay: Duration? = nil
        ) {
            self.priority = priority
            self.toleratesDelay = toleratesDelay
            self.maxDelay = maxDelay
        }
    }

    /// Pressure levels where regulation starts and stops. Pressure is the projected time
    /// behind divided by the lag target: 1 means exactly on target.
    public struct Thresholds: Hashable, Sendable {
        /// Regulation starts (delay-tolerant producers are throttled). Default 1.0.
        public var throttleStart: Double
        /// Regulation stops, once the dwell has passed. Default 0.5.
        public var throttleStop: Double
        /// Everything over budget is shed, delay-tolerant or not. Default 2.0.
        public var shedStart: Double
        /// Back to throttling, once the dwell has passed. Default 1.5.
        public var shedStop: Double
        /// The least time in a state before stepping down from it. Default 500 ms.
        public var minimumDwell: Duration

        public init(
            throttleStart: Double = 1.0, throttleStop: Double = 0.5, shedStart: Double = 2.0,
            shedStop: Double = 1.5, minimumDwell: Duration = .milliseconds(500)
        ) {
            self.throttleStart = throttleStart
            self.throttleStop = throttleStop
            self.shedStart = shedStart
            self.shedStop = shedStop
            self.minimumDwell = minimumDwell
        }
    }

    /// How the admitted rate moves while regulation is on.
    public struct RateControl: Hashable, Sendable {
        /// The rule that moves the admitted rate.
        public enum Mode: String, Hashable, Sendable, CaseIterable {
            /// Proportional-integral around the measured drain rate: each tick the rate is
            /// the drain rate times `1 + gain * (1 - pressure) + integral`, the factor kept
            /// within `1 - max_decrease_per_tick` and `1 + max_increase_per_tick`.
            case pi
            /// Additive increase after `calm_ticks_before_increase` ticks below target,
            /// multiplicative decrease (by up to `max_decrease_per_tick`) while above
            /// target and not falling.
            case aimd
        }

        /// Default `pi`, the steadier of the two in the simulation.
        public var mode: Mode
        /// The largest share of the rate cut in one tick, in `(0, 1)`. Default 0.5.
        public var maxDecreasePerTick: Double
        /// Each increase adds this share of the drain rate, in `(0, 1]`. Default 0.05.
        public var increaseShare: Double
        /// Ticks below target before the rate grows again. Default 3.
        public var calmTicksBeforeIncrease: Int
        /// Weight of the newest time-behind sample in its moving average, in `(0, 1]`.
        /// Default 0.5.
        public var smoothing: Double
        /// How many ticks ahead the time-behind trend is projected. Default 2.
        public var trendTicks: Int
        /// PI: the proportional gain on `1 - pressure`. Default 0.5.
        public var gain: Double
        /// PI: the time over which a steady error adds its own size to the factor.
        /// Default 2 s.
        public var integralTime: Duration
        /// PI: the largest share the rate may rise above the drain rate in one tick.
        /// Default 0.1.
        public var maxIncreasePerTick: Double

        public init(
            mode: Mode = .pi, maxDecreasePerTick: Double = 0.5, increaseShare: Double = 0.05,
            calmTicksBeforeIncrease: Int = 3, smoothing: Double = 0.5, trendTicks: Int = 2,
            gain: Double = 0.5, integralTime: Duration = .seconds(2),
            maxIncreasePerTick: Double = 0.1
        ) {
            self.mode = mode
            self.gain = gain
            self.integralTime = integralTime
            self.maxIncreasePerTick = maxIncreasePerTick
            self.maxDecreasePerTick = maxDecreasePerTick
            self.increaseShare = increaseShare
            self.calmTicksBeforeIncrease = calmTicksBeforeIncrease
            self.smoothing = smoothing
            self.trendTicks = trendTicks
        }
    }

    /// Limits over the bytes the bus's queues hold, summed over every group.
    public struct MemoryLimits: Hashable, Sendable {
        /// At or above this, everything but critical is shed. Nil: no soft limit.
        public var softLimitBytes: Int?
        /// At or above this, everything is refused. Nil: no hard limit.
        public var hardLimitBytes: Int?

        public init(softLimitBytes: Int? = nil, hardLimitBytes: Int? = nil) {
            self.softLimitBytes = softLimitBytes
            self.hardLimitBytes = hardLimitBytes
        }
    }

    /// How often the controller recomputes pressure and rates. Default 100 ms.
    public var tick: Duration
    /// Ticks without a report before the controller freezes growth. Default 5.
    public var staleAfterTicks: Int
    /// The lag target of channels not listed in `channels`. Default 1 s.
    public var defaultLagTarget: Duration
    /// Lag targets by channel name.
    public var channels: [String: Channel]
    /// Producers by name.
    public var producers: [String: Producer]
    /// The longest throttle delay. Default 1 s.
    public var maxDelay: Duration
    public var thresholds: Thresholds
    public var rate: RateControl
    public var memory: MemoryLimits
    /// Producers of one priority are hashed into this many cohorts, shed in a fixed order.
    /// Default 16.
    public var cohorts: Int
    /// The least share of each non-critical priority still admitted under pressure, so that
    /// recovery shows. Default 0.02.
    public var probeShare: Double

    public init(
        tick: Duration = .milliseconds(100), staleAfterTicks: Int = 5,
        defaultLagTarget: Duration = .seconds(1), channels: [String: Channel] = [:],
        producers: [String: Producer] = [:], maxDelay: Duration = .seconds(1),
        thresholds: Thresholds = Thresholds(), rate: RateControl = RateControl(),
        memory: MemoryLimits = MemoryLimits(), cohorts: Int = 16, probeShare: Double = 0.02
    ) {
        self.tick = tick
        self.staleAfterTicks = staleAfterTicks
        self.defaultLagTarget = defaultLagTarget
        self.channels = channels
        self.producers = producers
        self.maxDelay = maxDelay
        self.thresholds = thresholds
        self.rate = rate
        self.memory = memory
        self.cohorts = cohorts
        self.probeShare = probeShare
    }

    /// The lag target of `channel`.
    public func lagTarget(of channel: String) -> Duration {
        channels[channel]?.lagTarget ?? defaultLagTarget
    }
}
