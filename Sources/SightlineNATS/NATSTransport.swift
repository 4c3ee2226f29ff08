import CNATS
import Foundation
import Sightline
import Synchronization

/// The NATS JetStream transport: durable, shared by processes and machines.
///
/// Mapping (docs/wire-format.md has the details):
/// - a channel is a stream `SIGHTLINE_<channel>` on subjects `sightline.<channel>.<p>`, `p`
///   the partition of the message's key (``NATSNames/partition(of:partitions:)``);
/// - a subscriber group is one durable pull consumer per partition, named
///   `<group>_p<p>`: every group gets every message (fan-out in the engine), processes
///   running the same group compete for its messages;
/// - a command channel (``NATSStreamSettings/commands``) is a work-queue stream: each
///   command is stored until its one group acknowledged it.
///
/// Delivery: `enqueue` returns once JetStream acknowledged the publish (so the message is
/// stored), with the message id as `Nats-Msg-Id` so that a retried publish is stored once.
/// Publishes do not wait for each other: up to the connection's `publishWindow` await their
/// acknowledgements at once. A delivery's attempt is the engine's delivery count.
/// `acknowledge` and `retry` (a negative acknowledgement with the delay) are sent in
/// batches from a thread of the transport, each batch confirmed by one round trip to the
/// server and sent again when the connection was lost before that; `MaxDeliver` is one
/// more than the group's attempts, so a worker that dies during the last attempt still
/// leads to a dead letter.
///
/// Blocking cnats calls run on threads of the transport, never on the cooperative pool.
/// A publish writes into the connection's buffer from the caller's thread and suspends
/// until its acknowledgement arrives.
///
/// Effectively-once groups across processes need a shared idempotency store: give the bus a
/// ``NATSIdempotencyStore`` (the default in-memory store is per process).
///
/// Not yet: handlers that run longer than `ackWait` are redelivered meanwhile; there are no
/// in-progress acknowledgements.
public final class NATSTransport: Transport {
    public let system = "nats"
    public var fansOutRemotely: Bool { true }

    public let connection: NATSConnection
    public let configuration: NATSTransportConfiguration
    /// The store malformed messages are dead-lettered to, and whose letters this transport
    /// terminates on the server. Give it to the bus as its dead-letter store.
    public let deadLetterStore: NATSDeadLetterStore

    let logger: Logger
    let workers: BlockingWorkers
    let settler: NATSSettler
    let readyStreams = Mutex<Set<String>>([])
    let routes = Mutex<[String: ChannelRoute]>([:])
    let groups = Mutex<[GroupKey: NATSGroupConsumer]>([:])
    let malformedCount = Atomic<Int>(0)
    let lagTicker = Mutex<Task<Void, Never>?>(nil)
    let closed = Atomic<Bool>(false)
    let replies: NATSReplyRouter
    let watched = Mutex<[GroupKey: WatchedGroup]>([:])

    /// - Parameters:
    ///   - deadLetterStore: where malformed messages go; default: a ``NATSDeadLetterStore``
    ///     on the same connection.
    /// - Throws: ``NATSError`` `invalidConfiguration` for settings out of range.
    public init(
        connection: NATSConnection,
        configuration: NATSTransportConfiguration = NATSTransportConfiguration(),
        deadLetterStore: NATSDeadLetterStore? = nil
    ) throws {
        self.connection = connection
        self.configuration = try configuration.validated()
        self.deadLetterStore = deadLetterStore ?? NATSDeadLetterStore(connection: connection)
        self.logger = connection.logger
        self.replies = NATSReplyRouter(connection: connection)
        self.workers = BlockingWorkers(
            name: "sightline-nats", threads: max(1, configuration.publishThreads),
            capacity: 1 << 16)
        self.settler = NATSSettler(
            connection: connection, confirmWithin: configuration.ackWait,
            name: "sightline-nats-settle")
    }

    deinit {
        workers.stop()
        settler.stop(waitingUpTo: .zero)
    }

    /// Messages that arrived with headers that do not form an envelope and were
    /// dead-lettered with reason `malformed_envelope`.
    public var malformedMessages: Int { malformedCount.load(ordering: .relaxed) }

    /// The free-form header of a malformed message's dead letter that keeps the id the
    /// message claimed (`sightline-id`), when readable; the letter itself has a fresh id.
    public static let originalIDHeader = "malformed-original-id"

    /// The reason malformed messages are dead-lettered with.
    public static let malformedReason = DeadLetterReason(rawValue: "malformed_envelope")

    // MARK: Transport

    public func declare(_ group: GroupDescriptor) async throws {
        if groups.withLock({ $0[group.key] }) != nil { return }
        try NATSNames.validate(channel: group.key.channel)

        let consumer = try await workers.run { [self] in try makeConsumer(group) }
        let added = groups.withLock { groups -> Bool in
            guard groups[group.key] == nil else { return false }
            groups[group.key] = consumer
            return true
        }
        guard added else {
            _ = consumer.close()
            return
        }
        consumer.start { [self] handle, partition in
            arrived(handle, partition: partition, consumer: consumer)
        }
        startLagTicker()
    }

    public func enqueue(
        _ envelope: Envelope, to groups: [GroupKey], whenFull: FullQueueBehavior
    ) async throws {
        let route = try await route(of: envelope.channel)
        let deadline: Date? =
            switch whenFull {
            case .fail: nil
            case .wait(let timeout): Date().addingTimeInterval(timeout.seconds)
            }
        let partition = NATSNames.partition(
            of: envelope.partitionKey ?? envelope.id.description,
            partitions: configuration.partitions)

        guard !groups.isEmpty else {
            try await publish(
                envelope, targetGroup: nil, messageID: envelope.id.description,
                subject: route.subjects[partition], stream: route.stream, until: deadline)
            return
        }
        for group in groups {
            try await publish(
                envelope, targetGroup: group.group,
                messageID: "\(envelope.id)~\(group.group)~\(MessageID.make())",
                subject: route.subjects[partition], stream: route.stream, until: deadline)
        }
    }

    public func receive(from group: GroupKey) async -> TransportDelivery? {
        guard let consumer = groups.withLock({ $0[group] }) else { return nil }
        return await consumer.receive()
    }

    public func acknowledge(_ delivery: TransportDelivery) {
        guard let consumer = groups.withLock({ $0[delivery.group] }),
            let handle = consumer.take(delivery.token)
        else { return }
        let terminate = deadLetterStore.takeTermination(
            id: delivery.envelope.id, group: delivery.group.group)
        settle(handle, terminate ? .terminate : .acknowledge)
    }

    public func retry(_ delivery: TransportDelivery, after delay: Duration) {
        guard let consumer = groups.withLock({ $0[delivery.group] }),
            let handle = consumer.take(delivery.token)
        else { return }
        settle(handle, .retry(after: delay))
    }

    /// The lag of a group this process consumes, or of one it watches (``watchLag(of:capacity:)``).
    public func lag(of group: GroupKey) -> QueueLag? {
        if let consumer = groups.withLock({ $0[group] }) { return consumer.lag() }
        return watched.withLock { $0[group]?.lag }
    }

    /// Resolves once every declared group's consumers hold nothing pending or unacknowledged
    /// on the server and nothing is held here.
    public func waitUntilIdle() async {
        while !closed.load(ordering: .relaxed) {
            let consumers = groups.withLock { Array($0.values) }
            var idle = true
            for consumer in consumers {
                guard consumer.isLocallyIdle,
                    let lag = try? await workers.run({ [self] in
                        try readLag(stream: consumer.stream, consumer.partitions.map(\.consumer))
                    }),
                    lag.pending + lag.ackPending == 0
                else {
                    idle = false
                    break
                }
            }
            if idle { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    public func close() async -> [GroupKey: Int] {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return [:] }
        lagTicker.withLock { $0 }?.cancel()
        let consumers = groups.withLock { $0 }
        var unfinished: [GroupKey: Int] = [:]
        for (key, consumer) in consumers {
            let held = (try? await workers.run { consumer.close() }) ?? 0
            if held > 0 { unfinished[key] = held }
        }
        replies.close()
        _ = try? await workers.run { [settler, connection] in
            settler.stop(waitingUpTo: .seconds(2))
            try connection.flush(timeout: .seconds(2))
        }
        return unfinished
    }

    // MARK: Replies

    public func routeReplies(
        to address: String, deliver: @escaping @Sendable (Envelope) -> Void
    ) async throws {
        if replies.isRouted(address) { return }
        try await workers.run { [replies] in try replies.route(to: address, deliver: deliver) }
    }

    public func sendReply(_ reply: Envelope, to address: String) -> Bool {
        replies.send(reply, to: address)
    }

    // MARK: Publishing

    /// Where a channel's messages go: its stream (created on first use) and the subject of
    /// each partition, computed once per channel rather than for every publish.
    struct ChannelRoute: Sendable {
        var stream: String
        var subjects: [String]
    }

    /// The route of `channel`, creating its stream on first use.
    ///
    /// - Throws: ``NATSError`` `invalidConfiguration` for a channel that is not usable in a
    ///   subject, or the stream's setup failure.
    func route(of channel: String) async throws -> ChannelRoute {
        if let route = routes.withLock({ $0[channel] }) { return route }

        try NATSNames.validate(channel: channel)
        try await workers.run { [self] in try ensureStream(channel: channel) }
        let route = ChannelRoute(
            stream: NATSNames.stream(channel: channel),
            subjects: (0..<configuration.partitions).map {
                NATSNames.subject(channel: channel, partition: $0)
            })
        routes.withLock { $0[channel] = route }
        return route
    }

    func publish(
        _ envelope: Envelope, targetGroup: String?, messageID: String, subject: String,
        stream: String, until deadline: Date?
    ) async throws {
        while true {
            do {
                let message = try NATSMessage.make(
                    subject: subject, envelope: envelope, targetGroup: targetGroup)
                try await connection.publishes.publish(
                    message, through: connection.jetStream, messageID: messageID,
                    stream: stream, timeout: connection.options.requestTimeout)
                return
            } catch let error as NATSError where Self.isStreamFull(error) {
                guard let deadline, Date() < deadline else {
                    throw BusError(.queueFull, "stream \(stream) is full: \(error)")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private static func isStreamFull(_ error: NATSError) -> Bool {
        // A stream refusing new messages at a limit answers "maximum messages/bytes
        // exceeded" as a store failure; resource exhaustion of the server counts as full too.
        let full = [
            JSStreamStoreFailedErr, JSStreamLimitsErr, JSStorageResourcesExceededErr,
            JSMemoryResourcesExceededErr,
        ]
        return error.code == .publishFailed
            && full.contains { Int($0.rawValue) == error.jetStreamCode }
    }

    // MARK: Settling

    /// Settles on the settling thread, or here without waiting for a confirmation once that
    /// thread stopped (the transport is closing).
    private func settle(_ handle: MessageHandle, _ action: NATSSettler.Action) {
        guard !settler.settle(handle, action) else { return }
        switch action {
        case .acknowledge: natsMsg_Ack(handle.pointer, nil)
        case .retry(let delay): natsMsg_NakWithDelay(handle.pointer, delay.wholeMilliseconds, nil)
        case .terminate: natsMsg_Term(handle.pointer, nil)
        }
        natsMsg_Destroy(handle.pointer)
    }
}
