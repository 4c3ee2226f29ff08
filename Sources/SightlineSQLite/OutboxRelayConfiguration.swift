import Sightline

/// How an ``OutboxRelay`` works. Each property has a documented default.
public struct OutboxRelayConfiguration: Sendable {
    /// Messages read and published per round. Default: 256.
    public var batchSize: Int
    /// How long an idle relay waits before looking again when no commit woke it (commits of
    /// this process wake it at once; other processes' commits are seen at this pace).
    /// Default: 250 ms.
    public var pollInterval: Duration
    /// The delay after the first failed publish; it doubles with each further failure.
    /// Default: 100 ms.
    public var baseRetryDelay: Duration
    /// No retry delay exceeds this. Default: 30 s.
    public var maximumRetryDelay: Duration
    /// How long published messages stay in the outbox for inspection before they are
    /// deleted. Default: 1 hour.
    public var sentRetention: Duration
    /// Time for waits, backoff and sent times. Default: ``SystemClock``.
    public var clock: any BusClock
    /// Where the relay logs. Default: standard error at info and above.
    public var logger: Logger

    public init(
        batchSize: Int = 256, pollInterval: Duration = .milliseconds(250),
        baseRetryDelay: Duration = .milliseconds(100), maximumRetryDelay: Duration = .seconds(30),
        sentRetention: Duration = .seconds(3600), clock: any BusClock = SystemClock(),
        logger: Logger = .standardError
    ) {
        self.batchSize = max(1, batchSize)
        self.pollInterval = max(.milliseconds(1), pollInterval)
        self.baseRetryDelay = max(.zero, baseRetryDelay)
        self.maximumRetryDelay = max(.zero, maximumRetryDelay)
        self.sentRetention = max(.zero, sentRetention)
        self.clock = clock
        self.logger = logger
    }

    /// The delay before the next try after `failures` failures in a row (1-based).
    public func retryDelay(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 40)
        let base = Double(baseRetryDelay.nanoseconds)
        let delay = min(Double(maximumRetryDelay.nanoseconds), base * Double(1 << exponent))
        return .nanoseconds(Int64(delay))
    }
}
