import Synchronization

/// One subscriber group's bounded queue inside the in-memory transport.
///
/// The state lives behind one `Mutex`; each operation changes it and returns what must be
/// resumed, and continuations are resumed after the lock is released.
final class GroupQueue: Sendable {
    private struct Entry {
        var envelope: Envelope
        var sequence: UInt64
        var enqueuedAt: Duration
        var size: Int
    }

    /// What the queue keeps of a delivery being handled: not the envelope, which the
    /// delivery carries (one copy fewer per message; a retry takes it from the delivery).
    private struct InFlight {
        var sequence: UInt64
        var enqueuedAt: Duration
        var size: Int
        var partitionKey: String?
    }

    private enum ReadyItem {
        case unkeyed(Entry)
        case key(String)
    }

    /// The messages of one partition key, handed out one at a time.
    private struct Lane {
        var entries = RingBuffer<Entry>()
        /// A message of this key is in flight or waiting to be retried.
        var busy = false
        /// The key is in the ready queue.
        var scheduled = false

        /// Hands out the lane's next message, which makes the key busy.
        mutating func takeNext() -> Entry? {
            guard let next = entries.popFirst() else { return nil }
            scheduled = false
            busy = true
            return next
        }
    }

    private struct Sender {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var ready = RingBuffer<ReadyItem>()
        var lanes: [String: Lane] = [:]
        var held = 0
        var bytes = 0
        var inFlight: [UInt64: InFlight] = [:]
        var unsettled = RingBuffer<(sequence: UInt64, at: Duration)>()
        var settled: Set<UInt64> = []
        var settledTotal: UInt64 = 0
        var nextSequence: UInt64 = 0
        var nextSenderID: UInt64 = 0
        var receivers = RingBuffer<CheckedContinuation<TransportDelivery?, Never>>()
        var senders = RingBuffer<Sender>()
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var retryTimers: [UInt64: Task<Void, Never>] = [:]
        var closed = false
    }

    let descriptor: GroupDescriptor
    private let clock: any BusClock
    private let state = Mutex(State())

    init(descriptor: GroupDescriptor, clock: any BusClock) {
        self.descriptor = descriptor
        self.clock = clock
    }

    var isIdle: Bool { state.withLock { $0.held == 0 || $0.closed } }

    // MARK: Intake

    /// Stores an envelope at once when there is room; false when the queue is full (nothing
    /// is stored then). Throws `shuttingDown` once closed.
    ///
    /// The one-group publish takes this path: one lock and no continuation, where a
    /// reservation followed by a commit took two locks and a continuation per message.
    func enqueueIfRoom(_ envelope: Envelope, size: Int) throws -> Bool {
        let now = clock.now()
        let outcome = try state.withLock { state -> (() -> Void)? in
            if state.closed { throw BusError(.shuttingDown, "transport is closed") }
            guard state.held < descriptor.capacity else { return nil }
            state.held += 1
            return store(envelope, size: size, at: now, &state)
        }
        guard let resume = outcome else { return false }
        resume()
        return true
    }

    /// Takes one slot of capacity, waiting for it when the queue is full and `whenFull` says
    /// so. Throws `queueFull` when no slot came, `shuttingDown` once closed.
    func reserve(whenFull: FullQueueBehavior) async throws {
        // Room now: no continuation needed.
        let reserved = try state.withLock { state -> Bool in
            if state.closed { throw BusError(.shuttingDown, "transport is closed") }
            guard state.held < descriptor.capacity else { return false }
            state.held += 1
            return true
        }
        if reserved { return }

        enum Decision {
            case reserved
            case failed(BusError)
            case wait(UInt64, Duration)
        }

        let senderID = state.withLock { state -> UInt64 in
            state.nextSenderID += 1
            return state.nextSenderID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<Void, any Error>) in
                let decision = state.withLock { state -> Decision in
                    if state.closed {
                        return .failed(BusError(.shuttingDown, "transport is closed"))
                    }
                    if state.held < descriptor.capacity {
                        state.held += 1
                        return .reserved
                    }
                    switch whenFull {
                    case .fail:
                        return .failed(queueFull())
                    case .wait(let timeout):
                        state.senders.append(
                            Sender(id: senderID, continuation: continuation, timer: nil))
                        return .wait(senderID, timeout)
                    }
                }
                switch decision {
                case .reserved: continuation.resume()
                case .failed(let error): continuation.resume(throwing: error)
                case .wait(let id, let timeout): scheduleSenderTimeout(id: id, after: timeout)
                }
            }
        } onCancel: {
            failSender(id: senderID, with: CancellationError())
        }
    }

    private func scheduleSenderTimeout(id: UInt64, after timeout: Duration) {
        let timer = Task { [clock] in
            do {
                try await clock.sleep(for: timeout)
            } catch {
                return
            }
            self.failSender(id: id, with: self.queueFull(waited: timeout))
        }

        // The timer is cancelled when the sender gets its slot first.
        let stillWaiting = state.withLock { state -> Bool in
            var kept = RingBuffer<Sender>()
            var found = false
            while var next = state.senders.popFirst() {
                if next.id == id {
                    next.timer = timer
                    found = true
                }
                kept.append(next)
            }
            state.senders = kept
            return found
        }
        if !stillWaiting { timer.cancel() }
    }

    private func failSender(id: UInt64, with error: any Error) {
        let sender = state.withLock { state -> Sender? in
            var kept = RingBuffer<Sender>()
            var found: Sender?
            while let next = state.senders.popFirst() {
                if next.id == id { found = next } else { kept.append(next) }
            }
            state.senders = kept
            return found
        }
        sender?.timer?.cancel()
        sender?.continuation.resume(throwing: error)
    }

    private func queueFull(waited: Duration? = nil) -> BusError {
        let suffix = waited.map { " after waiting \($0)" } ?? ""
        return BusError(
            .queueFull,
            "queue of subscriber group \(descriptor.key) is full "
                + "(capacity \(descriptor.capacity))\(suffix)")
    }

    /// Returns a reserved slot that was not used.
    func cancelReservation() {
        let sender = state.withLock { state in
            state.held -= 1
            return handOffSlot(&state)
        }
        sender.map(Self.wake)
    }

    /// Stores an envelope in a previously reserved slot.
    func commit(_ envelope: Envelope, size: Int) {
        let now = clock.now()
        let resume = state.withLock { state in
            store(envelope, size: size, at: now, &state)
        }
        resume()
    }

    // MARK: Delivery

    /// Up to `limit` deliveries, waiting for one while none is ready; empty once closed.
    ///
    /// Messages already waiting are taken without suspending, a fair share of them (the
    /// ready count over the group's concurrency) so that one worker does not hold back what
    /// an idle one could handle.
    func receive(upTo limit: Int) async -> [TransportDelivery] {
        let ready = state.withLock { state -> [TransportDelivery]? in
            if state.closed { return [] }
            let share = max(1, min(limit, state.ready.count / descriptor.concurrency))
            var taken: [TransportDelivery] = []
            while taken.count < share, let delivery = takeNext(&state) {
                taken.append(delivery)
            }
            return taken.isEmpty ? nil : taken
        }
        if let ready { return ready }

        let delivery = await withCheckedContinuation { continuation in
            let delivery = state.withLock { state -> TransportDelivery?? in
                if state.closed { return .some(nil) }
                if let delivery = takeNext(&state) { return .some(delivery) }
                state.receivers.append(continuation)
                return .none
            }
            if case .some(let delivery) = delivery { continuation.resume(returning: delivery) }
        }
        return delivery.map { [$0] } ?? []
    }

    /// Forgets settled deliveries and gives their slots to waiting senders.
    func acknowledge(tokens: [UInt64]) {
        let resume = state.withLock { state -> () -> Void in
            var senders: [Sender] = []
            for token in tokens {
                guard let entry = state.inFlight.removeValue(forKey: token) else { continue }
                state.held -= 1
                state.bytes -= entry.size
                state.settledTotal += 1
                markSettled(entry.sequence, &state)
                if let key = entry.partitionKey { release(key: key, &state) }
                if let sender = handOffSlot(&state) { senders.append(sender) }
            }
            let receivers = handOutToWaitingReceivers(&state)
            let idle = state.held == 0 ? takeIdleWaiters(&state) : {}
            return {
                for sender in senders { Self.wake(sender) }
                receivers()
                idle()
            }
        }
        resume()
    }

    func retry(_ delivery: TransportDelivery, after delay: Duration) {
        let entry = state.withLock { state -> Entry? in
            guard let held = state.inFlight.removeValue(forKey: delivery.token) else {
                return nil
            }
            var envelope = delivery.envelope
            envelope.attempt += 1
            return Entry(
                envelope: envelope, sequence: held.sequence, enqueuedAt: held.enqueuedAt,
                size: held.size)
        }
        guard let entry else { return }

        // The key stays busy until the retry is handed out, holding back its later messages.
        let timer = Task { [clock] in
            do {
                try await clock.sleep(for: delay)
            } catch {
                return
            }
            self.reinsert(entry)
        }
        state.withLock { state in
            if state.closed {
                timer.cancel()
            } else {
                state.retryTimers[entry.sequence] = timer
            }
        }
    }

    private func reinsert(_ entry: Entry) {
        let resume = state.withLock { state -> () -> Void in
            state.retryTimers[entry.sequence] = nil
            guard !state.closed else { return {} }
            if let key = entry.envelope.partitionKey {
                state.lanes[key, default: Lane()].entries.prepend(entry)
                state.lanes[key]!.busy = false
                schedule(key: key, &state)
            } else {
                state.ready.append(.unkeyed(entry))
            }
            return handOutToWaitingReceivers(&state)
        }
        resume()
    }

    // MARK: Lag, idle and close

    func lag() -> QueueLag {
        let now = clock.now()
        return state.withLock { state in
            dropSettledHead(&state)
            let oldest = state.unsettled.first.map { now - $0.at } ?? .zero
            // A worker takes several messages at once (`receive(upTo:)`) and handles them one
            // after another: at most one per worker is being handled, the rest still wait.
            let handling = min(state.inFlight.count, descriptor.concurrency)
            return QueueLag(
                waiting: state.held, inFlight: handling, oldestAge: oldest,
                capacity: descriptor.capacity, settledTotal: state.settledTotal,
                queuedBytes: state.bytes)
        }
    }

    func waitUntilIdle() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if state.held == 0 || state.closed { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Stops the queue: receivers get nil, waiting senders fail, retry timers stop. Returns
    /// how many messages were still held.
    func close() -> Int {
        let (held, receivers, senders, timers, idle) = state.withLock { state in
            state.closed = true
            var receivers: [CheckedContinuation<TransportDelivery?, Never>] = []
            while let receiver = state.receivers.popFirst() { receivers.append(receiver) }
            var senders: [Sender] = []
            while let sender = state.senders.popFirst() { senders.append(sender) }
            let timers = Array(state.retryTimers.values)
            state.retryTimers = [:]
            let idle = state.idleWaiters
            state.idleWaiters = []
            return (state.held, receivers, senders, timers, idle)
        }
        for receiver in receivers { receiver.resume(returning: nil) }
        for sender in senders {
            sender.timer?.cancel()
            sender.continuation.resume(throwing: BusError(.shuttingDown, "transport is closed"))
        }
        for timer in timers { timer.cancel() }
        for waiter in idle { waiter.resume() }
        return held
    }

    // MARK: State helpers (called with the lock held)

    /// Stores an envelope in a slot already counted in `held`; returns what to resume.
    private func store(_ envelope: Envelope, size: Int, at now: Duration, _ state: inout State)
        -> () -> Void
    {
        state.nextSequence += 1
        let entry = Entry(
            envelope: envelope, sequence: state.nextSequence, enqueuedAt: now, size: size)
        state.bytes += size
        state.unsettled.append((entry.sequence, now))
        insert(entry, into: &state)
        return handOutToWaitingReceivers(&state)
    }

    private func insert(_ entry: Entry, into state: inout State) {
        guard let key = entry.envelope.partitionKey else {
            state.ready.append(.unkeyed(entry))
            return
        }
        state.lanes[key, default: Lane()].entries.append(entry)
        schedule(key: key, &state)
    }

    private func schedule(key: String, _ state: inout State) {
        guard var lane = state.lanes[key], !lane.busy, !lane.scheduled, !lane.entries.isEmpty
        else { return }
        lane.scheduled = true
        state.lanes[key] = lane
        state.ready.append(.key(key))
    }

    private func release(key: String, _ state: inout State) {
        guard var lane = state.lanes[key] else { return }
        lane.busy = false
        if lane.entries.isEmpty && !lane.scheduled {
            state.lanes[key] = nil
            return
        }
        state.lanes[key] = lane
        schedule(key: key, &state)
    }

    private func takeNext(_ state: inout State) -> TransportDelivery? {
        while let item = state.ready.popFirst() {
            let entry: Entry
            switch item {
            case .unkeyed(let unkeyed):
                entry = unkeyed
            case .key(let key):
                // Taken in place: popping from a copy of the lane would copy its whole buffer.
                guard let next = state.lanes[key]?.takeNext() else { continue }
                entry = next
            }
            state.inFlight[entry.sequence] = InFlight(
                sequence: entry.sequence, enqueuedAt: entry.enqueuedAt, size: entry.size,
                partitionKey: entry.envelope.partitionKey)
            var delivery = TransportDelivery(
                envelope: entry.envelope, group: descriptor.key, token: entry.sequence)
            delivery.queue = self
            return delivery
        }
        return nil
    }

    private func handOutToWaitingReceivers(_ state: inout State) -> () -> Void {
        var handed: [(CheckedContinuation<TransportDelivery?, Never>, TransportDelivery)] = []
        while !state.receivers.isEmpty, let delivery = takeNext(&state) {
            handed.append((state.receivers.popFirst()!, delivery))
        }
        guard !handed.isEmpty else { return {} }
        return {
            for (receiver, delivery) in handed { receiver.resume(returning: delivery) }
        }
    }

    /// Gives a free slot to the longest-waiting sender, if any; the caller wakes it (with
    /// ``wake(_:)``) after releasing the lock.
    private func handOffSlot(_ state: inout State) -> Sender? {
        guard state.held < descriptor.capacity, let sender = state.senders.popFirst() else {
            return nil
        }
        state.held += 1
        return sender
    }

    /// Resumes a sender that got a slot.
    private static func wake(_ sender: Sender) {
        sender.timer?.cancel()
        sender.continuation.resume()
    }

    private func takeIdleWaiters(_ state: inout State) -> () -> Void {
        let waiters = state.idleWaiters
        state.idleWaiters = []
        return {
            for waiter in waiters { waiter.resume() }
        }
    }

    private func markSettled(_ sequence: UInt64, _ state: inout State) {
        // Settling the oldest message, the usual case, needs no set.
        if state.unsettled.first?.sequence == sequence {
            _ = state.unsettled.popFirst()
        } else {
            state.settled.insert(sequence)
        }
        dropSettledHead(&state)
    }

    private func dropSettledHead(_ state: inout State) {
        while !state.settled.isEmpty, let first = state.unsettled.first,
            state.settled.remove(first.sequence) != nil
        {
            _ = state.unsettled.popFirst()
        }
    }
}
