import Synchronization

/// The embedded transport: bounded per-group queues in this process, no server to run.
///
/// Every group's queue has a capacity; a full queue makes `enqueue` wait (up to its
/// timeout) or fail at once, so memory stays bounded. Messages with the same partition key
/// are handed out one at a time in order; a message waiting to be retried holds back its
/// key only.
public final class InMemoryTransport: Transport {
    public let system = "sightline"
    public let carriesMessageValues = true

    private let clock: any BusClock
    private let groups = Mutex<[GroupKey: GroupQueue]>([:])

    public init(clock: any BusClock = SystemClock()) {
        self.clock = clock
    }

    public func declare(_ group: GroupDescriptor) async throws {
        groups.withLock { groups in
            if groups[group.key] == nil {
                groups[group.key] = GroupQueue(descriptor: group, clock: clock)
            }
        }
    }

    public func enqueue(
        _ envelope: Envelope, to keys: [GroupKey], whenFull: FullQueueBehavior
    ) async throws {
        // One group with room, the common case: stored without building any list.
        let size = envelope.approximateSize
        if keys.count == 1, try declaredQueue(keys[0]).enqueueIfRoom(envelope, size: size) {
            return
        }

        let queues = try keys.map(declaredQueue)

        // Reserve room in every group first, so that the envelope reaches all or none.
        var reserved: [GroupQueue] = []
        do {
            for queue in queues {
                try await queue.reserve(whenFull: whenFull)
                reserved.append(queue)
            }
        } catch {
            for queue in reserved { queue.cancelReservation() }
            throw error
        }

        for queue in queues {
            queue.commit(envelope, size: size)
        }
    }

    private func declaredQueue(_ key: GroupKey) throws -> GroupQueue {
        guard let queue = groups.withLock({ $0[key] }) else {
            throw BusError(.unknownGroup, "no subscriber group \(key) is declared")
        }
        return queue
    }

    public func receive(from group: GroupKey) async -> TransportDelivery? {
        await receive(from: group, upTo: 1).first
    }

    public func receive(from group: GroupKey, upTo limit: Int) async -> [TransportDelivery] {
        guard let queue = groups.withLock({ $0[group] }) else { return [] }
        return await queue.receive(upTo: limit)
    }

    public func acknowledge(_ delivery: TransportDelivery) {
        queue(of: delivery)?.acknowledge(tokens: [delivery.token])
    }

    public func acknowledge(_ deliveries: [TransportDelivery]) {
        // A worker's batch comes from one group: one lock for all of it.
        guard let first = deliveries.first, let queue = queue(of: first),
            deliveries.allSatisfy({ $0.queue === queue })
        else {
            for delivery in deliveries { acknowledge(delivery) }
            return
        }
        queue.acknowledge(tokens: deliveries.map(\.token))
    }

    public func retry(_ delivery: TransportDelivery, after delay: Duration) {
        queue(of: delivery)?.retry(delivery, after: delay)
    }

    private func queue(of delivery: TransportDelivery) -> GroupQueue? {
        delivery.queue ?? groups.withLock { $0[delivery.group] }
    }

    public func lag(of group: GroupKey) -> QueueLag? {
        groups.withLock { $0[group] }?.lag()
    }

    public func waitUntilIdle() async {
        while true {
            let queues = groups.withLock { Array($0.values) }
            guard let busy = queues.first(where: { !$0.isIdle }) else { return }
            await busy.waitUntilIdle()
        }
    }

    public func close() async -> [GroupKey: Int] {
        let queues = groups.withLock { $0 }
        var unfinished: [GroupKey: Int] = [:]
        for (key, queue) in queues {
            let held = queue.close()
            if held > 0 { unfinished[key] = held }
        }
        return unfinished
    }
}
