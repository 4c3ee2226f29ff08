import Synchronization

/// Queues ended spans and exports them in batches from a task of its own.
///
/// Contract:
/// - ``spanEnded(_:)`` never waits: it appends to a bounded queue under a `Mutex` and, when
///   the queue has just reached a batch, wakes the export loop. When the queue is full, or
///   after shutdown, the span is dropped and counted.
/// - The loop takes up to `maxExportBatchSize` spans at a time out of the queue: as soon as
///   a batch is queued, when `scheduleDelay` has passed with a partial batch, or when a
///   flush or shutdown asks for everything. Up to `maxConcurrentExports` exports run at
///   once, so the queue keeps draining while earlier batches are on their way; each is
///   abandoned after `exportTimeout` (its spans count as failed, and the exporter's task is
///   cancelled). With one export at a time, batches reach the exporter in the order the
///   spans ended; with more, calls may finish in any order.
/// - ``forceFlush(deadline:)`` returns once every span queued before the call has been
///   through an export attempt, or at the deadline.
final class BatchSpanProcessor: SpanSink, Sendable {
    struct Settings: Sendable {
        var maxQueueSize: Int
        var maxExportBatchSize: Int
        var scheduleDelay: Duration
        var exportTimeout: Duration
        var maxConcurrentExports: Int = 1
    }

    private struct FlushWaiter {
        var id: UInt64
        /// Satisfied once `completedTotal` reaches this.
        var target: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var queue: [SpanData] = []
        /// Spans ever accepted into the queue.
        var acceptedTotal: UInt64 = 0
        /// Spans that have left the queue and been through an export attempt (or were
        /// discarded at shutdown).
        var completedTotal: UInt64 = 0
        var ended = 0
        var exported = 0
        var dropped = 0
        var failed = 0
        var rejected = 0
        var isDropping = false
        var isShutdown = false
        var isLoopFinished = false
        var exportsInFlight = 0
        var loopWaiter: CheckedContinuation<Void, Never>?
        var wakePending = false
        var flushWaiters: [FlushWaiter] = []
        var nextWaiterID: UInt64 = 0
    }

    /// What the loop does next, decided under the lock.
    private enum Step {
        case export([SpanData])
        case wait
        case stop
    }

    let exporter: any SpanExporter
    private let resource: TracingResource
    private let clock: any BusClock
    private let logger: Logger
    private let settings: Settings
    private let state = Mutex(State())
    private let loopTask = Mutex<Task<Void, Never>?>(nil)

    init(
        exporter: any SpanExporter, resource: TracingResource, settings: Settings,
        clock: any BusClock, logger: Logger
    ) {
        self.exporter = exporter
        self.resource = resource
        self.settings = settings
        self.clock = clock
        self.logger = logger
        let task = Task { [self] in await self.runLoop() }
        loopTask.withLock { $0 = task }
    }

    /// The counters, for ``TracerStatistics``.
    func counters() -> (
        ended: Int, exported: Int, dropped: Int, failed: Int, rejected: Int,
        queueLength: Int
    ) {
        state.withLock {
            ($0.ended, $0.exported, $0.dropped, $0.failed, $0.rejected, $0.queue.count)
        }
    }

    // MARK: - Hot path

    func spanEnded(_ data: SpanData) {
        var startedDropping = false
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ended += 1
            guard !state.isShutdown, state.queue.count < settings.maxQueueSize else {
                state.dropped += 1
                startedDropping = !state.isDropping && !state.isShutdown
                state.isDropping = true
                return nil
            }
            state.queue.append(data)
            state.acceptedTotal += 1
            return state.queue.count == settings.maxExportBatchSize ? Self.takeWake(&state) : nil
        }
        wake?.resume()

        if startedDropping {
            logger.warning(
                "span queue full (\(settings.maxQueueSize)); dropping ended spans until an "
                    + "export makes room",
                [LogKey.reason: "queue_full"])
        }
    }

    private static func takeWake(_ state: inout State) -> CheckedContinuation<Void, Never>? {
        guard let waiter = state.loopWaiter else {
            state.wakePending = true
            return nil
        }
        state.loopWaiter = nil
        return waiter
    }

    // MARK: - Export loop

    private func runLoop() async {
        // Exports run as children of the loop, so cancelling the loop abandons them too.
        await withDiscardingTaskGroup { group in
            var scheduleDelayPassed = false
            while !Task.isCancelled {
                let (step, satisfied) = state.withLock { state -> (Step, [FlushWaiter]) in
                    let satisfied = Self.takeSatisfiedFlushWaiters(&state)
                    return (nextStep(&state, scheduleDelayPassed: scheduleDelayPassed), satisfied)
                }
                for waiter in satisfied { waiter.continuation.resume(returning: true) }

                switch step {
                case .export(let batch):
                    scheduleDelayPassed = false
                    group.addTask { [self] in
                        let result = await exportWithTimeout(batch)
                        record(result, count: batch.count)
                    }
                case .wait:
                    scheduleDelayPassed = await waitForWork()
                case .stop:
                    return
                }
            }
        }
    }

    /// Takes the next batch when one is due and an export slot is free.
    private func nextStep(_ state: inout State, scheduleDelayPassed: Bool) -> Step {
        let wantsEverything = !state.flushWaiters.isEmpty || state.isShutdown
        let batchDue =
            state.queue.count >= settings.maxExportBatchSize || scheduleDelayPassed
            || wantsEverything
        if !state.queue.isEmpty, batchDue,
            state.exportsInFlight < settings.maxConcurrentExports
        {
            state.exportsInFlight += 1
            return .export(Self.takeBatch(&state.queue, limit: settings.maxExportBatchSize))
        }
        if state.isShutdown, state.queue.isEmpty, state.exportsInFlight == 0 {
            state.isLoopFinished = true
            return .stop
        }
        return .wait
    }

    /// Removes up to `limit` spans from the front of `queue`.
    private static func takeBatch(_ queue: inout [SpanData], limit: Int) -> [SpanData] {
        // The usual case hands over the whole array: copying a batch out and shifting the
        // rest down cost two retains and releases per span in the profile.
        guard queue.count > limit else {
            defer { queue = [] }
            return queue
        }
        let batch = Array(queue[..<limit])
        queue.removeFirst(limit)
        return batch
    }

    private static func takeSatisfiedFlushWaiters(_ state: inout State) -> [FlushWaiter] {
        let completed = state.completedTotal
        let satisfied = state.flushWaiters.filter { $0.target <= completed }
        state.flushWaiters.removeAll { $0.target <= completed }
        return satisfied
    }

    private func record(_ result: SpanExportResult, count: Int) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.completedTotal += UInt64(count)
            state.exportsInFlight -= 1
            state.isDropping = false
            switch result {
            case .success(let rejected):
                let refused = min(max(rejected, 0), count)
                state.exported += count - refused
                state.rejected += refused
            case .failure:
                state.failed += count
            }
            // The loop may be waiting for this slot, or for flush waiters to be answered.
            return Self.takeWake(&state)
        }
        wake?.resume()

        switch result {
        case .success(let rejected) where rejected > 0:
            logger.warning(
                "the receiver rejected \(rejected) of \(count) spans",
                [LogKey.count: String(rejected), LogKey.reason: "rejected"])
        case .success:
            break
        case .failure(let reason):
            logger.warning(
                "exporting \(count) spans failed; they are lost: \(reason)",
                [LogKey.count: String(count), LogKey.reason: reason])
        }
    }

    /// Waits for a wake-up (a full batch, a flush, shutdown) or for the schedule delay.
    /// Returns true when the schedule delay passed.
    private func waitForWork() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [clock, settings] in
                do {
                    try await clock.sleep(for: settings.scheduleDelay)
                    return true
                } catch {
                    return false
                }
            }
            group.addTask { [self] in
                await waitForWake()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Task.isCancelled is set before the cancellation handler runs, and both the
                // check and the handler hold the lock, so no wake-up can be lost.
                let resumeNow = state.withLock { state -> Bool in
                    if state.wakePending || Task.isCancelled {
                        state.wakePending = false
                        return true
                    }
                    state.loopWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.loopWaiter = nil }
                return state.loopWaiter
            }
            waiter?.resume()
        }
    }

    /// Runs one export, giving up after the export timeout without waiting for the
    /// exporter to notice.
    private func exportWithTimeout(_ batch: [SpanData]) async -> SpanExportResult {
        // Not yet: an abandoned export keeps running until the exporter notices its task
        // was cancelled, so the next export can overlap it; exporters must tolerate that.
        let race = ExportRace()
        let exportTask = Task { [exporter, resource] in
            race.finish(await exporter.export(batch, resource: resource))
        }
        let timeout = settings.exportTimeout
        let timerTask = Task { [clock] in
            do {
                try await clock.sleep(for: timeout)
            } catch {
                return
            }
            race.finish(.failure(reason: "export timed out after \(timeout)"))
        }

        let result = await withTaskCancellationHandler {
            await race.wait()
        } onCancel: {
            race.finish(.failure(reason: "export abandoned at shutdown"))
        }
        timerTask.cancel()
        exportTask.cancel()
        return result
    }

    // MARK: - Flush and shutdown

    /// Waits until every span queued before the call has been through an export attempt,
    /// then flushes the exporter. Returns false when the deadline came first.
    @discardableResult
    func forceFlush(deadline: ContinuousClock.Instant) async -> Bool {
        let flushed = await waitForQueuedSpans(deadline: deadline)
        await exporter.forceFlush(deadline: deadline)
        return flushed
    }

    private func waitForQueuedSpans(deadline: ContinuousClock.Instant) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timer = Task { [self] in
            do {
                try await Task.sleep(until: deadline, clock: .continuous)
            } catch {
                return
            }
            let expired = state.withLock { state -> FlushWaiter? in
                guard let index = state.flushWaiters.firstIndex(where: { $0.id == id }) else {
                    return nil
                }
                return state.flushWaiters.remove(at: index)
            }
            expired?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }

        return await withCheckedContinuation { continuation in
            // Either an immediate answer, or the loop to wake for the registered waiter.
            let (answer, wake) = state.withLock {
                state -> (Bool?, CheckedContinuation<Void, Never>?) in
                if state.completedTotal >= state.acceptedTotal || state.isLoopFinished {
                    return (true, nil)
                }
                if ContinuousClock.now >= deadline { return (false, nil) }
                let waiter = FlushWaiter(
                    id: id, target: state.acceptedTotal, continuation: continuation)
                state.flushWaiters.append(waiter)
                return (nil, Self.takeWake(&state))
            }
            if let answer { continuation.resume(returning: answer) }
            wake?.resume()
        }
    }

    /// Refuses new spans, exports what is queued until `deadline`, drops (and counts) what
    /// is left, stops the loop and shuts the exporter down. Later calls do nothing.
    func shutdown(deadline: ContinuousClock.Instant) async {
        let (first, wake) = state.withLock {
            state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard !state.isShutdown else { return (false, nil) }
            state.isShutdown = true
            return (true, Self.takeWake(&state))
        }
        wake?.resume()
        guard first else { return }

        let flushed = await waitForQueuedSpans(deadline: deadline)
        if !flushed {
            let left = state.withLock { state -> Int in
                let left = state.queue.count
                state.dropped += left
                state.completedTotal += UInt64(left)
                state.queue.removeAll()
                return left
            }
            logger.warning(
                "shutdown deadline reached; dropped \(left) queued spans",
                [LogKey.count: String(left), LogKey.reason: "shutdown_deadline"])
        }
        stopLoop()
        await exporter.shutdown(deadline: deadline)
    }

    /// Cancels the export loop (used at shutdown and when the tracer goes away).
    func stopLoop() {
        loopTask.withLock { $0 }?.cancel()
    }
}

/// The first of an export's result and its timeout, delivered once.
private final class ExportRace: Sendable {
    private struct State {
        var result: SpanExportResult?
        var waiter: CheckedContinuation<SpanExportResult, Never>?
    }

    private let state = Mutex(State())

    func finish(_ result: SpanExportResult) {
        let waiter = state.withLock { state -> CheckedContinuation<SpanExportResult, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    func wait() async -> SpanExportResult {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> SpanExportResult? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
