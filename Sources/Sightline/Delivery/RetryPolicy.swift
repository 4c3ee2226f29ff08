/// When and how often a failed delivery is tried again.
///
/// Delays grow exponentially with full jitter: before attempt `n + 1` the bus waits a
/// uniformly random time between zero and `min(maximumDelay, baseDelay × 2^(n-1))`.
/// Spreading retries over the whole interval keeps failing consumers from retrying in step.
public struct RetryPolicy: Hashable, Sendable {
    /// The most deliveries of one message, the first included. 1 means no retry.
    public var maximumAttempts: Int
    /// The ceiling of the first retry's delay.
    public var baseDelay: Duration
    /// No delay exceeds this.
    public var maximumDelay: Duration

    public init(
        maximumAttempts: Int = 5, baseDelay: Duration = .milliseconds(100),
        maximumDelay: Duration = .seconds(30)
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.baseDelay = max(.zero, baseDelay)
        self.maximumDelay = max(.zero, maximumDelay)
    }

    /// Five attempts, 100 ms base, 30 s cap.
    public static let standard = RetryPolicy()

    /// A single attempt.
    public static let none = RetryPolicy(maximumAttempts: 1)

    /// The largest delay that may follow a failure of attempt `attempt` (1-based).
    public func delayCeiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 62)
        let base = Double(baseDelay.nanoseconds)
        let ceiling = min(Double(maximumDelay.nanoseconds), base * Double(1 << exponent))
        return .nanoseconds(Int64(ceiling))
    }

    /// The delay after a failure of attempt `attempt`, drawn with full jitter.
    ///
    /// - Parameter unit: a random number in `0..<1`; tests pass fixed values.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let ceiling = Double(delayCeiling(afterAttempt: attempt).nanoseconds)
        let clamped = min(max(unit, 0), 1)
        return .nanoseconds(Int64(ceiling * clamped))
    }

    /// True when attempt `attempt` failing leaves attempts to make.
    public func allowsRetry(afterAttempt attempt: Int) -> Bool {
        attempt < maximumAttempts
    }
}
