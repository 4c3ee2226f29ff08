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
/// A delivery's attempt is the engine's delivery count. `acknowledge` acknowledges and
/// waits for the server's confirmation (on the transport's own threads), `retry` negatively
/// acknowledges with the delay; `MaxDeliver` is one more than the group's attempts, so a
/// worker that dies during the last attempt still leads to a dead letter.
///
/// Blocking cnats calls run on threads of the transport, never on the cooperative pool.
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

    private let logger: Logger
    private let workers: BlockingWorkers
    private let readyStreams = Mutex<Set<String>>([])
    private let groups = Mutex<[GroupKey: NATSGroupConsumer]>([:])
    private let malformedCount = Atomic<Int>(0)
    private let lagTicker = Mutex<Task<Void, Never>?>(nil)
    private let closed = Atomic<Bool>(false)
    private let replies: NATSReplyRouter

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
        let settlers = max(1, configuration.publishThreads)
        self.workers = BlockingWorkers(
            name: "sightline-nats", threads: settlers, capacity: 1 << 16)
    }

    deinit {
        workers.stop()
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
        try NATSNames.validate(channel: envelope.channel)
        let deadline: Date? =
            switch whenFull {
            case .fail: nil
            case .wait(let timeout): Date().addingTimeInterval(timeout.seconds)
            }
        let copies: [(target: String?, id: String)] =
            groups.isEmpty
            ? [(nil, envelope.id.description)]
            : groups.map { ($0.group, "\(envelope.id)~\($0.group)~\(MessageID.make())") }

        for copy in copies {
            var headers = try envelope.headerFields()
            headers[NATSMessage.targetGroupHeader] = copy.target
            try await publish(envelope, headers: headers, messageID: copy.id, until: deadline)
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
        let ackWait = configuration.ackWait
        let terminate = deadLetterStore.takeTermination(
            id: delivery.envelope.id, group: delivery.group.group)
        settle(handle) { message, mayBlock in
            if terminate {
                natsMsg_Term(message, nil)
            } else if mayBlock {
                Self.acknowledgeConfirmed(message, within: ackWait)
            } else {
                natsMsg_Ack(message, nil)
            }
        }
    }

    public func retry(_ delivery: TransportDelivery, after delay: Duration) {
        guard let consumer = groups.withLock({ $0[delivery.group] }),
            let handle = consumer.take(delivery.token)
        else { return }
        settle(handle) { message, _ in
            natsMsg_NakWithDelay(message, delay.wholeMilliseconds, nil)
        }
    }

    public func lag(of group: GroupKey) -> QueueLag? {
        groups.withLock { $0[group] }?.lag()
    }

    /// Resolves once every declared group's consumers hold nothing pending or unacknowledged
    /// on the server and nothing is held here.
    public func waitUntilIdle() async {
        while !closed.load(ordering: .relaxed) {
            let consumers = groups.withLock { Array($0.values) }
            var idle = true
            for consumer in consumers {
                guard consumer.isLocallyIdle,
                    let lag = try? await workers.run({ [self] in try readLag(consumer) }),
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
        _ = try? await workers.run { [connection] in try connection.flush(timeout: .seconds(2)) }
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

    // MARK: Lag

    /// Reads every group's consumer information now instead of waiting for the next tick.
    public func refreshLag() async throws {
        let consumers = groups.withLock { Array($0.values) }
        for consumer in consumers {
            let lag = try await workers.run { [self] in try readLag(consumer) }
            consumer.update(lag)
        }
    }

    private func startLagTicker() {
        lagTicker.withLock { ticker in
            guard ticker == nil else { return }
            let interval = configuration.lagInterval
            ticker = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self else { return }
                    do {
                        try await self.refreshLag()
                    } catch {
                        self.logger.debug(
                            "consumer information unavailable", [LogKey.error: "\(error)"])
                    }
                }
            }
        }
    }

    /// Pending and acknowledgement-pending counts summed over the group's partition
    /// consumers, and the age of the oldest unacknowledged message. Blocks.
    private func readLag(_ consumer: NATSGroupConsumer) throws -> NATSGroupConsumer.EngineLag {
        var lag = NATSGroupConsumer.EngineLag()
        var oldest: Int64?
        for partition in consumer.partitions {
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var jsCode = jsErrCode(0)
            let status = js_GetConsumerInfo(
                &info, connection.jetStream, consumer.stream, partition.consumer, nil, &jsCode)
            guard status == NATS_OK, let info else {
                throw NATSError.failure(
                    .requestFailed, "consumer \(partition.consumer) of \(consumer.stream)", status,
                    jsCode)
            }
            defer { jsConsumerInfo_Destroy(info) }
            let pending = Int(info.pointee.NumPending)
            let ackPending = Int(info.pointee.NumAckPending)
            lag.pending += pending
            lag.ackPending += ackPending
            if pending + ackPending > 0,
                let time = firstUnacknowledgedTime(
                    stream: consumer.stream, subject: partition.subject,
                    after: info.pointee.AckFloor.Stream)
            {
                oldest = min(oldest ?? time, time)
            }
        }
        if let oldest {
            let age = NATSDeadLetterStore.unixNanos(Date()) - oldest
            lag.oldestAge = .nanoseconds(max(0, age))
        }
        return lag
    }

    private func firstUnacknowledgedTime(stream: String, subject: String, after floor: UInt64)
        -> Int64?
    {
        var options = jsDirectGetMsgOptions()
        jsDirectGetMsgOptions_Init(&options)
        var message: OpaquePointer?
        let status = subject.withCString { subjectPointer in
            options.Sequence = floor + 1
            options.NextBySubject = subjectPointer
            return js_DirectGetMsg(&message, connection.jetStream, stream, nil, &options)
        }
        guard status == NATS_OK, let message else { return nil }
        defer { natsMsg_Destroy(message) }
        let time = natsMsg_GetTime(message)
        return time > 0 ? time : nil
    }

    // MARK: Publishing

    private func publish(
        _ envelope: Envelope, headers: [String: String], messageID: String, until deadline: Date?
    ) async throws {
        let channel = envelope.channel
        let partition = NATSNames.partition(
            of: envelope.partitionKey ?? envelope.id.description,
            partitions: configuration.partitions)
        let subject = NATSNames.subject(channel: channel, partition: partition)
        let stream = NATSNames.stream(channel: channel)

        while true {
            do {
                try await workers.run { [self] in
                    try ensureStream(channel: channel)
                    try publishNow(
                        subject: subject, stream: stream, headers: headers,
                        payload: envelope.payload, messageID: messageID)
                }
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

    private func publishNow(
        subject: String, stream: String, headers: [String: String], payload: Data,
        messageID: String
    ) throws {
        let message = try NATSMessage.make(subject: subject, headers: headers, payload: payload)
        defer { natsMsg_Destroy(message) }

        var ack: UnsafeMutablePointer<jsPubAck>?
        var jsCode = jsErrCode(0)
        let status = messageID.withCString { idPointer in
            stream.withCString { streamPointer in
                var options = jsPubOptions()
                jsPubOptions_Init(&options)
                options.MsgId = idPointer
                options.ExpectStream = streamPointer
                return js_PublishMsg(&ack, connection.jetStream, message, &options, &jsCode)
            }
        }
        if let ack { jsPubAck_Destroy(ack) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .publishFailed, "publish to \(subject) was not acknowledged", status, jsCode)
        }
    }

    // MARK: Streams and consumers (blocking; on the transport's threads)

    private func ensureStream(channel: String) throws {
        let name = NATSNames.stream(channel: channel)
        if readyStreams.withLock({ $0.contains(name) }) { return }
        let settings = configuration.stream(for: channel)

        var info: UnsafeMutablePointer<jsStreamInfo>?
        var jsCode = jsErrCode(0)
        let subjects = [NATSNames.subjects(channel: channel)]
        let status = withCStrings(subjects) { pointers -> natsStatus in
            var subjectPointers = pointers
            return name.withCString { namePointer in
                subjectPointers.withUnsafeMutableBufferPointer { buffer in
                    var config = jsStreamConfig()
                    jsStreamConfig_Init(&config)
                    config.Name = namePointer
                    config.Subjects = buffer.baseAddress
                    config.SubjectsLen = Int32(buffer.count)
                    Self.apply(settings, to: &config)
                    var status = js_AddStream(&info, connection.jetStream, &config, nil, &jsCode)
                    if status != NATS_OK, jsCode == JSStreamNameExistErr {
                        // It exists with other settings: apply the limits we can change.
                        if let info { jsStreamInfo_Destroy(info) }
                        info = nil
                        status = js_UpdateStream(&info, connection.jetStream, &config, nil, &jsCode)
                        if status != NATS_OK {
                            logger.warning(
                                "stream exists with settings that cannot change; kept as it is",
                                [
                                    LogKey.channel: channel,
                                    LogKey.error: NATSError.failure(
                                        .setupFailed, name, status, jsCode
                                    ).description,
                                ])
                            status = NATS_OK
                        }
                    }
                    return status
                }
            }
        }
        if let info { jsStreamInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .setupFailed, "cannot create or check stream \(name)", status, jsCode)
        }
        _ = readyStreams.withLock { $0.insert(name) }
    }

    private static func apply(_ settings: NATSStreamSettings, to config: inout jsStreamConfig) {
        config.Retention = settings.retention == .workQueue ? js_WorkQueuePolicy : js_LimitsPolicy
        config.Storage = settings.storage == .memory ? js_MemoryStorage : js_FileStorage
        config.Replicas = Int64(settings.replicas)
        config.MaxAge = settings.maximumAge?.nanoseconds ?? 0
        config.MaxMsgs = settings.maximumMessages.map(Int64.init) ?? -1
        config.MaxBytes = settings.maximumBytes.map(Int64.init) ?? -1
        config.Discard = settings.refuseWhenFull ? js_DiscardNew : js_DiscardOld
        config.Duplicates = settings.duplicateWindow.nanoseconds
        config.AllowDirect = true
    }

    private func makeConsumer(_ group: GroupDescriptor) throws -> NATSGroupConsumer {
        let channel = group.key.channel
        try ensureStream(channel: channel)
        let stream = NATSNames.stream(channel: channel)
        let count = configuration.partitions
        let perPartition =
            configuration.orderedPartitions ? 1 : max(1, group.capacity / count)

        var partitions: [NATSGroupConsumer.Partition] = []
        do {
            for index in 0..<count {
                let name = NATSNames.consumer(group: group.key.group, partition: index)
                let subject = NATSNames.subject(channel: channel, partition: index)
                try ensureConsumer(
                    name: name, stream: stream, subject: subject, group: group,
                    maximumAckPending: perPartition)
                let subscription = try bind(name: name, stream: stream, subject: subject)
                partitions.append(
                    NATSGroupConsumer.Partition(
                        index: index, consumer: name, subject: subject,
                        subscription: subscription))
            }
        } catch {
            for partition in partitions {
                natsSubscription_Unsubscribe(partition.subscription)
                natsSubscription_Destroy(partition.subscription)
            }
            throw error
        }
        logger.debug(
            "subscriber group bound to its consumers",
            [LogKey.channel: channel, LogKey.group: group.key.group, LogKey.count: String(count)])
        return NATSGroupConsumer(
            descriptor: group, stream: stream, partitions: partitions,
            fetchBatch: perPartition, fetchTimeout: configuration.fetchTimeout, logger: logger)
    }

    private func ensureConsumer(
        name: String, stream: String, subject: String, group: GroupDescriptor,
        maximumAckPending: Int
    ) throws {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var jsCode = jsErrCode(0)
        var status = js_GetConsumerInfo(&info, connection.jetStream, stream, name, nil, &jsCode)
        if status == NATS_OK {
            // An existing consumer continues where it stopped.
            if let info { jsConsumerInfo_Destroy(info) }
            return
        }
        guard status == NATS_NOT_FOUND || jsCode == JSConsumerNotFoundErr else {
            throw NATSError.failure(
                .setupFailed, "cannot read consumer \(name) of \(stream)", status, jsCode)
        }

        status = name.withCString { namePointer in
            subject.withCString { subjectPointer in
                var config = jsConsumerConfig()
                jsConsumerConfig_Init(&config)
                config.Durable = namePointer
                config.FilterSubject = subjectPointer
                config.AckPolicy = js_AckExplicit
                config.AckWait = configuration.ackWait.nanoseconds
                config.MaxAckPending = Int64(maximumAckPending)
                // One delivery beyond the policy's attempts: the bus dead-letters it
                // without running the handler (a worker died during the last attempt).
                config.MaxDeliver = group.maximumAttempts.map { Int64($0 + 1) } ?? -1
                switch configuration.start(for: group.key.group) {
                case .newOnly:
                    config.DeliverPolicy = js_DeliverNew
                case .allRetained:
                    config.DeliverPolicy = js_DeliverAll
                case .from(let date):
                    config.DeliverPolicy = js_DeliverByStartTime
                    config.OptStartTime = NATSDeadLetterStore.unixNanos(date)
                }
                return js_AddConsumer(&info, connection.jetStream, stream, &config, nil, &jsCode)
            }
        }
        if let info { jsConsumerInfo_Destroy(info) }
        guard status == NATS_OK else {
            throw NATSError.failure(
                .setupFailed, "cannot create consumer \(name) on \(stream)", status, jsCode)
        }
    }

    private func bind(name: String, stream: String, subject: String) throws -> OpaquePointer {
        var subscription: OpaquePointer?
        var jsCode = jsErrCode(0)
        let status = name.withCString { namePointer in
            stream.withCString { streamPointer in
                var options = jsSubOptions()
                jsSubOptions_Init(&options)
                options.Stream = streamPointer
                options.Consumer = namePointer
                options.ManualAck = true
                return js_PullSubscribe(
                    &subscription, connection.jetStream, subject, namePointer, nil, &options,
                    &jsCode)
            }
        }
        guard status == NATS_OK, let subscription else {
            throw NATSError.failure(
                .setupFailed, "cannot bind to consumer \(name) of \(stream)", status, jsCode)
        }
        return subscription
    }

    // MARK: Arrivals

    /// Turns a pulled message into an envelope, or settles it here: a copy meant for
    /// another group is acknowledged, a malformed one dead-lettered and terminated.
    private func arrived(
        _ handle: MessageHandle, partition: NATSGroupConsumer.Partition,
        consumer: NATSGroupConsumer
    ) -> Envelope? {
        let message = handle.pointer
        var deliveries: UInt64 = 1
        var metadata: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&metadata, message) == NATS_OK, let metadata {
            deliveries = metadata.pointee.NumDelivered
            jsMsgMetaData_Destroy(metadata)
        }

        let headers: [String: [String]]
        switch NATSMessage.headers(of: message) {
        case .success(let read):
            headers = read
        case .failure(let error):
            deadLetterMalformed(handle, [:], error, consumer: consumer, attempt: deliveries)
            return nil
        }
        if let target = headers.first(where: {
            $0.key.lowercased() == NATSMessage.targetGroupHeader
        })?.value.first,
            target != consumer.key.group
        {
            natsMsg_AckSync(message, nil, nil)
            natsMsg_Destroy(message)
            return nil
        }

        // Not yet: a message without any Sightline header (a plain NATS publish) is
        // dead-lettered as malformed instead of being handled as a raw message of its subject.
        do {
            var envelope = try Envelope(
                headerFields: try NATSMessage.envelopeFields(headers),
                payload: NATSMessage.payload(of: message))
            envelope.attempt = Int(clamping: max(1, deliveries))
            return envelope
        } catch {
            deadLetterMalformed(handle, headers, error, consumer: consumer, attempt: deliveries)
            return nil
        }
    }

    private func deadLetterMalformed(
        _ handle: MessageHandle, _ headers: [String: [String]], _ error: any Error,
        consumer: NATSGroupConsumer, attempt: UInt64
    ) {
        let message = handle.pointer
        let envelope = Self.salvage(
            headers: headers, payload: NATSMessage.payload(of: message),
            channel: consumer.key.channel, attempt: Int(clamping: attempt))
        let now = Date()
        let letter = DeadLetter(
            envelope: envelope, group: consumer.key.group, reason: Self.malformedReason,
            errorDescription: "\(error)", attempts: Int(clamping: attempt), firstFailureAt: now,
            lastFailureAt: now, deadLetterTraceParent: envelope.traceParent)
        do {
            try deadLetterStore.addNow(letter)
            _ = deadLetterStore.takeTermination(id: letter.id, group: letter.group)
            natsMsg_Term(message, nil)
            malformedCount.add(1, ordering: .relaxed)
            logger.info(
                "malformed message dead-lettered",
                [
                    LogKey.channel: consumer.key.channel, LogKey.group: consumer.key.group,
                    LogKey.messageID: envelope.id.description,
                    LogKey.reason: Self.malformedReason.rawValue, LogKey.error: "\(error)",
                ])
        } catch let storeError {
            // Keep it rather than lose it: the server offers it again after a while.
            logger.error(
                "malformed message could not be dead-lettered; left for redelivery",
                [LogKey.error: "\(storeError)"])
            natsMsg_NakWithDelay(message, 5000, nil)
        }
        natsMsg_Destroy(message)
    }

    /// An envelope holding what can be kept of a malformed message: its id and type when
    /// they are readable, free-form headers that are valid, and the payload.
    static func salvage(
        headers: [String: [String]], payload: Data, channel: String, attempt: Int
    ) -> Envelope {
        let limits = EnvelopeLimits.standard
        func first(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name }?.value.first
        }
        // A fresh id: the claimed one cannot be trusted to be unique (a letter is keyed by id
        // and group); the claimed one is kept as a free-form header when it is readable.
        let id = MessageID.make()
        let claimedID = first(EnvelopeHeaderName.id).flatMap { $0.utf8.count <= 64 ? $0 : nil }
        let type = first(EnvelopeHeaderName.messageType).flatMap { type in
            type.isEmpty || type.utf8.count > 256 || type.contains(where: \.isNewline)
                ? nil : type
        }
        var free: [String: String] = [:]
        for (name, values) in headers.sorted(by: { $0.key < $1.key }) {
            guard free.count < limits.maximumHeaders, values.count == 1, let value = values.first,
                !EnvelopeHeaderName.isReserved(name), !name.lowercased().hasPrefix("nats-"),
                name.utf8.count <= 256, value.utf8.count <= limits.maximumHeaderValueBytes,
                !value.contains(where: \.isNewline)
            else { continue }
            free[name] = value
        }
        if let claimedID, !claimedID.contains(where: \.isNewline) {
            free[originalIDHeader] = claimedID
        }
        let traceParent = first(EnvelopeHeaderName.traceParent).flatMap {
            $0.utf8.count <= 64 ? $0 : nil
        }
        return Envelope(
            id: id, messageType: type ?? "unknown", channel: channel, headers: free,
            traceParent: traceParent, attempt: max(1, attempt),
            contentType: "application/octet-stream",
            payload: payload.count <= limits.maximumBytes ? payload : Data())
    }

    // MARK: Settling

    /// Acknowledges and waits for the server's confirmation, trying again while the
    /// connection is re-established: an acknowledgement lost in an outage would otherwise
    /// hold the message's partition until the server's ack wait ends. Blocks.
    private static func acknowledgeConfirmed(_ message: OpaquePointer, within limit: Duration) {
        let deadline = Date().addingTimeInterval(limit.seconds)
        while true {
            let status = natsMsg_AckSync(message, nil, nil)
            if status == NATS_OK || status == NATS_CONNECTION_CLOSED || Date() >= deadline {
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Settles on the transport's threads, where `action` may block (`mayBlock` true).
    private func settle(
        _ handle: MessageHandle, _ action: @escaping @Sendable (OpaquePointer, Bool) -> Void
    ) {
        let accepted = workers.submit {
            action(handle.pointer, true)
            natsMsg_Destroy(handle.pointer)
        }
        if !accepted {
            // The settling threads are gone (closed) or swamped: settle without waiting.
            action(handle.pointer, false)
            natsMsg_Destroy(handle.pointer)
        }
    }
}
