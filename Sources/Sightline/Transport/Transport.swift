/// Identifies a subscriber group: a named set of competing handlers on one channel.
public struct GroupKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var channel: String
    public var group: String

    public init(channel: String, group: String) {
        self.channel = channel
        self.group = group
    }

    public static func < (lhs: GroupKey, rhs: GroupKey) -> Bool {
        (lhs.channel, lhs.group) < (rhs.channel, rhs.group)
    }

    public var description: String { "\(channel)/\(group)" }
}

/// What a transport needs to know to hold a subscriber group's messages.
public struct GroupDescriptor: Hashable, Sendable {
    public var key: GroupKey
    /// The most messages held for the group (waiting, in flight or waiting to be retried).
    public var capacity: Int
    /// How many handlers run at once.
    public var concurrency: Int
    /// The most deliveries of one message the group's retry policy allows; a transport whose
    /// engine counts deliveries bounds redeliveries with it (nil: no bound known).
    public var maximumAttempts: Int?

    public init(key: GroupKey, capacity: Int, concurrency: Int, maximumAttempts: Int? = nil) {
        self.key = key
        self.capacity = max(1, capacity)
        self.concurrency = max(1, concurrency)
        self.maximumAttempts = maximumAttempts.map { max(1, $0) }
    }
}

/// What a publisher wants when a group's queue is full.
public enum FullQueueBehavior: Hashable, Sendable {
    /// Wait for room, up to `timeout`, then fail with ``BusError/Code/queueFull``.
    case wait(timeout: Duration)
    /// Fail at once with ``BusError/Code/queueFull``.
    case fail
}

/// One message handed to a subscriber group's worker, to be settled exactly once.
public struct TransportDelivery: Sendable {
    public var envelope: Envelope
    public var group: GroupKey
    /// The transport's handle for settling the delivery.
    public var token: UInt64
    /// The in-memory queue the delivery came from, so that settling it needs no lookup.
    var queue: GroupQueue?

    public init(envelope: Envelope, group: GroupKey, token: UInt64) {
        self.envelope = envelope
        self.group = group
        self.token = token
    }
}

/// How far a subscriber group is behind, as the transport sees it.
public struct QueueLag: Hashable, Sendable {
    /// Messages accepted for the group and not yet settled (waiting, in flight, retrying).
    public var waiting: Int
    /// Of those, how many are being handled right now.
    public var inFlight: Int
    /// The age of the oldest unsettled message; zero when there is none.
    public var oldestAge: Duration
    public var capacity: Int
    /// Messages settled since the group was declared; a rate over time is its drain rate.
    public var settledTotal: UInt64
    /// Approximate bytes held.
    public var queuedBytes: Int

    public init(
        waiting: Int, inFlight: Int, oldestAge: Duration, capacity: Int, settledTotal: UInt64,
        queuedBytes: Int
    ) {
        self.waiting = waiting
        self.inFlight = inFlight
        self.oldestAge = oldestAge
        self.capacity = capacity
        self.settledTotal = settledTotal
        self.queuedBytes = queuedBytes
    }
}

/// Moves envelopes from publishers to subscriber groups.
///
/// The bus owns handlers, retries, dead letters and tracing; a transport owns storage and
/// delivery order. Contract for implementations:
/// - `enqueue` either stores the envelope for every listed group or for none of them;
/// - within a group, envelopes with the same partition key are handed out one at a time in
///   the order they were enqueued, and a delivery being retried holds back later envelopes
///   with its key only;
/// - every delivery is settled exactly once, by `acknowledge` or `retry`.
public protocol Transport: Sendable {
    /// The `messaging.system` name of the engine (`sightline` for in-process).
    var system: String { get }

    /// True when the engine copies each message to every subscriber group of its channel,
    /// groups that live in other processes included.
    ///
    /// The bus then hands each envelope to the transport once per channel, as
    /// `enqueue(envelope, to: [], whenFull:)` (an empty list means every group of the
    /// channel), and sends commands and requests without a local handler, since the handler
    /// may run in another process. A non-empty list still means exactly those groups (a
    /// redrive). Default: false.
    var fansOutRemotely: Bool { get }

    /// True when envelopes never leave this process, so that the bus may hand a message to
    /// subscribers of its own type as the value that was published and encode its payload
    /// only when bytes are read (``Envelope/payload``). Default: false, and the bus encodes
    /// every payload before ``enqueue(_:to:whenFull:)``.
    var carriesMessageValues: Bool { get }

    /// Starts handing replies sent to `address` (this bus's reply address) to `deliver`,
    /// from any process. Calling it again for the same address does nothing. The default
    /// does nothing: replies then reach only requesters in the same process.
    func routeReplies(to address: String, deliver: @escaping @Sendable (Envelope) -> Void)
        async throws

    /// Sends a reply to a reply address that belongs to another process; false when the
    /// transport cannot route replies (the default), and the bus drops the reply.
    func sendReply(_ reply: Envelope, to address: String) -> Bool

    /// Prepares storage for a group. Declaring the same group again is allowed.
    func declare(_ group: GroupDescriptor) async throws

    /// Stores the envelope for each group.
    func enqueue(_ envelope: Envelope, to groups: [GroupKey], whenFull: FullQueueBehavior)
        async throws

    /// The next delivery for the group, waiting while there is none; nil once the transport
    /// is closed.
    func receive(from group: GroupKey) async -> TransportDelivery?

    /// At least one and at most `limit` deliveries for the group, waiting while there is
    /// none; empty once the transport is closed. Each is settled on its own. The default
    /// returns one delivery from ``receive(from:)``.
    func receive(from group: GroupKey, upTo limit: Int) async -> [TransportDelivery]

    /// The delivery succeeded, or ended in the dead-letter store; forget it.
    func acknowledge(_ delivery: TransportDelivery)

    /// Acknowledges several deliveries at once. The default acknowledges them one by one.
    func acknowledge(_ deliveries: [TransportDelivery])

    /// Hand the envelope out again after `delay`, with its attempt count raised by one.
    func retry(_ delivery: TransportDelivery, after delay: Duration)

    /// The group's lag right now.
    func lag(of group: GroupKey) -> QueueLag?

    /// Resolves once no group holds a message.
    func waitUntilIdle() async

    /// Stops handing out deliveries; waiting receivers get nil. Returns, per group, how
    /// many messages were still held.
    func close() async -> [GroupKey: Int]
}

extension Transport {
    public var fansOutRemotely: Bool { false }

    public var carriesMessageValues: Bool { false }

    public func receive(from group: GroupKey, upTo limit: Int) async -> [TransportDelivery] {
        guard let delivery = await receive(from: group) else { return [] }
        return [delivery]
    }

    public func acknowledge(_ deliveries: [TransportDelivery]) {
        for delivery in deliveries { acknowledge(delivery) }
    }

    public func routeReplies(
        to address: String, deliver: @escaping @Sendable (Envelope) -> Void
    ) async throws {}

    public func sendReply(_ reply: Envelope, to address: String) -> Bool { false }
}
