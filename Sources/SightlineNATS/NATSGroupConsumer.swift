import CNATS
import Foundation
import Sightline
import Synchronization

/// One subscriber group on this process: a pull subscription per partition consumer, a
/// thread per subscription pulling messages, and the deliveries waiting for a worker.
///
/// The local buffer needs no bound of its own: the server hands out at most `MaxAckPending`
/// unsettled messages per consumer, so the buffer never holds more than their sum.
final class NATSGroupConsumer: Sendable {
    struct Partition: Sendable {
        var index: Int
        var consumer: String
        var subject: String
        // A pull subscription is used by its one fetch thread only; closed via the connection.
        nonisolated(unsafe) var subscription: OpaquePointer
    }

    private struct State {
        var ready: [TransportDelivery] = []
        var readyHead = 0
        var receivers: [UnsafeContinuation<TransportDelivery?, Never>] = []
        var outstanding: [UInt64: MessageHandle] = [:]
        var nextToken: UInt64 = 1
        var closed = false
        var settled: UInt64 = 0
        var engineLag = EngineLag()
    }

    /// What the last consumer-information read said.
    struct EngineLag {
        var pending = 0
        var ackPending = 0
        var oldestAge: Duration = .zero
    }

    let descriptor: GroupDescriptor
    let stream: String
    let partitions: [Partition]
    private let state = Mutex(State())
    private let fetchBatch: Int
    private let fetchTimeout: Duration
    private let logger: Logger
    private let running = Atomic<Int>(0)

    init(
        descriptor: GroupDescriptor, stream: String, partitions: [Partition], fetchBatch: Int,
        fetchTimeout: Duration, logger: Logger
    ) {
        self.descriptor = descriptor
        self.stream = stream
        self.partitions = partitions
        self.fetchBatch = max(1, fetchBatch)
        self.fetchTimeout = fetchTimeout
        self.logger = logger
    }

    var key: GroupKey { descriptor.key }

    /// Starts one pulling thread per partition; `arrived` turns each message into a
    /// delivery or settles it itself (returning nil).
    func start(arrived: @escaping @Sendable (MessageHandle, Partition) -> Envelope?) {
        for partition in partitions {
            running.add(1, ordering: .relaxed)
            let thread = Thread { [self] in
                pull(partition, arrived: arrived)
                running.subtract(1, ordering: .relaxed)
            }
            thread.name = "sightline-nats-\(partition.consumer)"
            thread.start()
        }
    }

    private func pull(
        _ partition: Partition, arrived: @Sendable (MessageHandle, Partition) -> Envelope?
    ) {
        var failures = 0
        while !isClosed {
            var list = natsMsgList()
            let status = fetchAvailable(&list, partition.subscription)
            if status == NATS_TIMEOUT { continue }
            guard status == NATS_OK else {
                natsMsgList_Destroy(&list)
                if isClosed || status == NATS_CONNECTION_CLOSED { break }
                failures += 1
                if failures == 1 || failures % 100 == 0 {
                    logger.info(
                        "pull failed; trying again",
                        [
                            LogKey.group: key.group, LogKey.count: String(failures),
                            LogKey.error: NATSError.failure(
                                .requestFailed, partition.consumer, status
                            ).description,
                        ])
                }
                Thread.sleep(forTimeInterval: min(0.05 * Double(failures), 1))
                continue
            }
            failures = 0
            var batch: [(Envelope, MessageHandle)] = []
            batch.reserveCapacity(Int(list.Count))
            for index in 0..<Int(list.Count) {
                guard let message = list.Msgs[index] else { continue }
                list.Msgs[index] = nil
                let handle = MessageHandle(pointer: message)
                if let envelope = arrived(handle, partition) {
                    batch.append((envelope, handle))
                }
            }
            natsMsgList_Destroy(&list)
            hand(batch)
        }
    }

    /// Fetches what the consumer has, up to `fetchBatch`, returning as soon as there is
    /// anything rather than waiting for a full batch (which would hold the first messages
    /// back while the rest trickle in); waits up to `fetchTimeout` for the first. Blocks.
    private func fetchAvailable(_ list: inout natsMsgList, _ subscription: OpaquePointer)
        -> natsStatus
    {
        // The server answers a no-wait pull that has an expiry with what it has as soon as it
        // has anything. A batch of one (ordered partitions) skips it: a plain pull returns
        // with the first message anyway, and the no-wait one, sent right after the previous
        // message was handed over and so before its acknowledgement, found nothing every
        // time, costing a second pull per message.
        var request = jsFetchRequest()
        if fetchBatch > 1 {
            jsFetchRequest_Init(&request)
            request.Batch = Int32(fetchBatch)
            request.NoWait = true
            request.Expires = fetchTimeout.nanoseconds
            let status = natsSubscription_FetchRequest(&list, subscription, &request)
            guard status == NATS_NOT_FOUND else { return status }
        }

        // A server that answers "no messages" at once: wait for one message instead.
        jsFetchRequest_Init(&request)
        request.Batch = 1
        request.Expires = fetchTimeout.nanoseconds
        return natsSubscription_FetchRequest(&list, subscription, &request)
    }

    private var isClosed: Bool { state.withLock { $0.closed } }

    /// Gives the deliveries of one fetch to waiting workers and queues the rest, under one
    /// lock: a profile of `bench nats` showed the lock taken per message contended with the
    /// workers taking deliveries.
    private func hand(_ batch: [(Envelope, MessageHandle)]) {
        guard !batch.isEmpty else { return }
        let (woken, rejected) = state.withLock {
            state -> ([(UnsafeContinuation<TransportDelivery?, Never>, TransportDelivery)], Bool)
            in
            if state.closed { return ([], true) }
            var woken: [(UnsafeContinuation<TransportDelivery?, Never>, TransportDelivery)] = []
            for (envelope, handle) in batch {
                let token = state.nextToken
                state.nextToken += 1
                state.outstanding[token] = handle
                let delivery = TransportDelivery(envelope: envelope, group: key, token: token)
                if woken.count < state.receivers.count {
                    woken.append((state.receivers[woken.count], delivery))
                } else {
                    state.ready.append(delivery)
                }
            }
            state.receivers.removeFirst(woken.count)
            return (woken, false)
        }
        if rejected {
            // Closed meanwhile: hand them back to the server for another consumer.
            for (_, handle) in batch {
                natsMsg_Nak(handle.pointer, nil)
                natsMsg_Destroy(handle.pointer)
            }
            return
        }
        for (receiver, delivery) in woken {
            receiver.resume(returning: delivery)
        }
    }

    func receive() async -> TransportDelivery? {
        // Unsafe rather than checked: resumed exactly once, by `hand` or `close` (both remove
        // it from `receivers` under the lock) or here; the checked form costs an allocation
        // per call.
        await withUnsafeContinuation { continuation in
            let ready = state.withLock { state -> TransportDelivery?? in
                if state.readyHead < state.ready.count {
                    let delivery = state.ready[state.readyHead]
                    state.readyHead += 1
                    if state.readyHead == state.ready.count {
                        state.ready.removeAll(keepingCapacity: true)
                        state.readyHead = 0
                    }
                    return .some(delivery)
                }
                if state.closed { return .some(nil) }
                state.receivers.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Removes and returns the message of a delivery, counting it settled.
    func take(_ token: UInt64) -> MessageHandle? {
        state.withLock { state in
            guard let handle = state.outstanding.removeValue(forKey: token) else { return nil }
            state.settled += 1
            return handle
        }
    }

    func update(_ lag: EngineLag) {
        state.withLock { $0.engineLag = lag }
    }

    func lag() -> QueueLag {
        state.withLock { state in
            QueueLag(
                waiting: state.engineLag.pending + state.engineLag.ackPending,
                inFlight: state.outstanding.count - (state.ready.count - state.readyHead),
                oldestAge: state.engineLag.oldestAge, capacity: descriptor.capacity,
                // Not yet: bytes held are not read from the engine.
                settledTotal: state.settled, queuedBytes: 0)
        }
    }

    /// True when nothing is held here (the server may still hold messages).
    var isLocallyIdle: Bool { state.withLock { $0.outstanding.isEmpty } }

    /// Stops the pulls, wakes waiting workers with nil, hands unhandled messages back to the
    /// server, and returns how many messages were still held here.
    func close() -> Int {
        let (receivers, unsettled) = state.withLock {
            state -> ([UnsafeContinuation<TransportDelivery?, Never>], [MessageHandle]) in
            state.closed = true
            defer {
                state.receivers = []
                state.outstanding = [:]
                state.ready = []
                state.readyHead = 0
            }
            return (state.receivers, Array(state.outstanding.values))
        }
        for receiver in receivers { receiver.resume(returning: nil) }
        for handle in unsettled {
            natsMsg_Nak(handle.pointer, nil)
            natsMsg_Destroy(handle.pointer)
        }
        // The pulls end within one fetch timeout; wait for them so that no thread uses a
        // subscription after it is destroyed.
        let deadline = Date().addingTimeInterval(fetchTimeout.seconds + 2)
        while running.load(ordering: .relaxed) > 0, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        for partition in partitions {
            natsSubscription_Unsubscribe(partition.subscription)
            natsSubscription_Destroy(partition.subscription)
        }
        return unsettled.count
    }
}
