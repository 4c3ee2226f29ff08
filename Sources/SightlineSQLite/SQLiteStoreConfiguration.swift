import Sightline

/// How a ``SQLiteStore`` opens and uses its file. Each property has a default suited to one
/// service process.
public struct SQLiteStoreConfiguration: Sendable {
    /// How SQLite syncs the WAL to disk.
    public enum Synchronous: String, Hashable, Sendable {
        /// Syncs at checkpoints only: a committed transaction survives a crash of the
        /// process, and the last ones may be lost on power failure. SQLite's advice for WAL.
        case normal = "NORMAL"
        /// Syncs at every commit: committed transactions also survive power failure.
        case full = "FULL"
    }

    /// How long a statement waits for another connection's lock before failing with
    /// `locked`. Default: 5 s.
    public var busyTimeout: Duration
    /// Default: `.normal`.
    public var synchronous: Synchronous
    /// Jobs waiting for the store's thread before callers suspend. Default: 1024.
    public var queueCapacity: Int
    /// Wall-clock times for staged, processed and dead-lettered rows. Default: ``SystemClock``.
    public var clock: any BusClock
    /// Where the store logs. Default: standard error at info and above.
    public var logger: Logger

    public init(
        busyTimeout: Duration = .seconds(5), synchronous: Synchronous = .normal,
        queueCapacity: Int = 1024, clock: any BusClock = SystemClock(),
        logger: Logger = .standardError
    ) {
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
        self.queueCapacity = queueCapacity
        self.clock = clock
        self.logger = logger
    }
}
