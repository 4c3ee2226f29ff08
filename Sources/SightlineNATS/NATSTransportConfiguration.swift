import Foundation

/// How a channel's stream is kept.
public struct NATSStreamSettings: Hashable, Sendable {
    public enum Retention: String, Hashable, Sendable {
        /// Messages stay until a limit removes them; every group reads them (events).
        case limits
        /// A message leaves once its one group acknowledged it (commands). Such a stream
        /// accepts one subscriber group.
        case workQueue
    }

    public enum Storage: String, Hashable, Sendable {
        case file
        case memory
    }

    /// Default: `.limits`.
    public var retention: Retention
    /// Default: `.file`.
    public var storage: Storage
    /// Copies kept in a cluster (1 to 5). Default: 1.
    public var replicas: Int
    /// The oldest message kept; nil keeps messages of any age. Default: 7 days.
    public var maximumAge: Duration?
    /// The most messages kept; nil: no limit. Default: nil.
    public var maximumMessages: Int?
    /// The most bytes kept; nil: no limit. Default: nil.
    public var maximumBytes: Int?
    /// When a limit is reached, refuse new messages (`true`: the publisher sees
    /// `queueFull`) instead of dropping the oldest. Default: true, so nothing unread is
    /// silently discarded.
    public var refuseWhenFull: Bool
    /// How long a message id is remembered to drop a duplicate publish. Default: 2 min.
    public var duplicateWindow: Duration

    public init(
        retention: Retention = .limits, storage: Storage = .file, replicas: Int = 1,
        maximumAge: Duration? = .seconds(7 * 24 * 3600), maximumMessages: Int? = nil,
        maximumBytes: Int? = nil, refuseWhenFull: Bool = true,
        duplicateWindow: Duration = .seconds(120)
    ) {
        self.retention = retention
        self.storage = storage
        self.replicas = replicas
        self.maximumAge = maximumAge
        self.maximumMessages = maximumMessages
        self.maximumBytes = maximumBytes
        self.refuseWhenFull = refuseWhenFull
        self.duplicateWindow = duplicateWindow
    }

    /// Settings for a command channel: a work queue, otherwise the defaults.
    public static let commands = NATSStreamSettings(retention: .workQueue)
}

/// Where a subscriber group starts reading the first time it is declared. A group that
/// exists already on the server continues where it stopped.
public enum NATSStartPosition: Hashable, Sendable {
    /// Only messages published after the group was created.
    case newOnly
    /// Everything the stream still holds: a service added later replays the log.
    case allRetained
    /// Messages stored at or after this time.
    case from(Date)
}

/// Settings of a ``NATSTransport``. Each property documents its default.
public struct NATSTransportConfiguration: Sendable {
    /// Partitions per channel; a key always maps to the same one. Default: 8.
    ///
    /// Each subscriber group holds one durable consumer per partition, and with
    /// `orderedPartitions` handles one message per partition at a time: the partition count
    /// is the group's concurrency ceiling across all its processes. Changing it for an
    /// existing channel moves keys between partitions (order breaks once).
    public var partitions: Int
    /// Hand out one message per partition at a time, so that per-key order holds even with
    /// several consumer processes and across retries. Default: true. False lets each
    /// partition consumer hold up to `capacity / partitions` messages at once, unordered.
    public var orderedPartitions: Bool
    /// Stream settings per channel; channels not listed use `defaultStream`.
    public var streams: [String: NATSStreamSettings]
    /// Default: ``NATSStreamSettings``'s initializer with all of its defaults.
    public var defaultStream: NATSStreamSettings
    /// Start positions per group name; groups not listed use `defaultStart`.
    public var starts: [String: NATSStartPosition]
    /// Default: `.allRetained`, so that a consumer process started after its producer
    /// misses nothing.
    public var defaultStart: NATSStartPosition
    /// How long the server waits for a settlement before redelivering. A handler must finish
    /// within it. Default: 30 s.
    public var ackWait: Duration
    /// How long one pull waits for messages; also how quickly `close` stops the pulls.
    /// Default: 500 ms.
    public var fetchTimeout: Duration
    /// How often consumer information is read for `lag(of:)`. Default: 1 s.
    public var lagInterval: Duration
    /// Threads running the transport's blocking calls: creating streams and consumers,
    /// reading lag. (Publishes need none: they wait for their acknowledgements without
    /// holding a thread; settlements go out from one thread of their own.) Default: 4.
    public var publishThreads: Int

    public init(
        partitions: Int = 8, orderedPartitions: Bool = true,
        streams: [String: NATSStreamSettings] = [:],
        defaultStream: NATSStreamSettings = NATSStreamSettings(),
        starts: [String: NATSStartPosition] = [:], defaultStart: NATSStartPosition = .allRetained,
        ackWait: Duration = .seconds(30), fetchTimeout: Duration = .milliseconds(500),
        lagInterval: Duration = .seconds(1), publishThreads: Int = 4
    ) {
        self.partitions = partitions
        self.orderedPartitions = orderedPartitions
        self.streams = streams
        self.defaultStream = defaultStream
        self.starts = starts
        self.defaultStart = defaultStart
        self.ackWait = ackWait
        self.fetchTimeout = fetchTimeout
        self.lagInterval = lagInterval
        self.publishThreads = publishThreads
    }

    func stream(for channel: String) -> NATSStreamSettings {
        streams[channel] ?? defaultStream
    }

    func start(for group: String) -> NATSStartPosition {
        starts[group] ?? defaultStart
    }

    /// Checks ranges; the error names the setting.
    func validated() throws -> NATSTransportConfiguration {
        guard (1...1024).contains(partitions) else {
            throw NATSError(
                .invalidConfiguration, "partitions must be 1 to 1024, not \(partitions)")
        }
        for (channel, settings) in streams.merging(
            ["(default)": defaultStream], uniquingKeysWith: { a, _ in a })
        {
            guard (1...5).contains(settings.replicas) else {
                throw NATSError(
                    .invalidConfiguration,
                    "stream of \(channel): replicas must be 1 to 5, not \(settings.replicas)")
            }
        }
        guard ackWait >= .milliseconds(100), fetchTimeout >= .milliseconds(10) else {
            throw NATSError(
                .invalidConfiguration, "ackWait must be at least 100 ms and fetchTimeout 10 ms")
        }
        return self
    }
}
