import Synchronization

/// The embedded transport: bounded per-group queues in this process, no server to run.
///
/// Every group's queue has a capacity; a full queue makes `enqueue` wait (up to its
/// timeout) or fail at once, so memory stays bounded. Messages with the same partition key
/// are handed out one at a time in order; a message waiting to be retried holds back its
/// key only.
public final class InMemoryTransport: Transport {
    public let system = "sightline"

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
        let queues = try keys.map { key in
            guard let queue = groups.withLock({ $0[key] }) else {
                throw BusError(.unknownGroup, "no subscriber group \(key) is declared")
            }
            return queue
        }

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

        let size = envelope.approximateSize
        for queue in queues {
            queue.commit(envelope, size: size)
        }
    }

    public func receive(from group: GroupKey) async -> TransportDelivery? {
        guard let queue = groups.withLock({ $0[group] }) else { return nil }
        return await queue.receive()
    }

    public func acknowledge(_ delivery: TransportDelivery) {
        groups.withLock { $0[delivery.group] }?.acknowledge(token: delivery.token)
    }

    public func retry(_ delivery: TransportDelivery, after delay: Duration) {
        groups.withLock { $0[delivery.group] }?.retry(token: delivery.token, after: delay)
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
