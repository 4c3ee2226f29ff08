import Synchronization

/// Queues ended spans and exports them in batches from a task of its own.
///
/// Contract:
/// - ``spanEnded(_:)`` never waits: it appends to a bounded queue under a `Mutex` and, when
///   the queue has just reached a batch, wakes the export loop. When the queue is full, or
///   after shutdown, the span is dropped and counted.
/// - ``spanEndedUnlessWaiting(_:)`` with ``waitForRoom(queueing:)``, and ``waitForRoom()``,
///   apply back-pressure instead:
///   while the queue stands at or above its high-water mark (or others already wait), the
///   caller's task is suspended, never its thread, until exports drain the queue to the
///   low-water mark; waiters are let in first come, first served. A wait lasts at most
///   `maxQueueWait`: when the oldest waiter runs out of time the exporter is taken to be
///   stuck, every waiter goes on as with ``spanEnded(_:)`` (queued if the queue has room,
///   else dropped and counted), and later calls do not wait again until exports have
///   drained the queue to the low-water mark, so a dead collector stalls the application
///   for one `maxQueueWait` at most.
/// - The loop takes up to `maxExportBatchSize` spans at a time out of the queue: as soon as
///   a batch is queued, at the next tick of a `scheduleDelay` timer with a partial batch, or when a
///   flush or shutdown asks for everything. Up to `maxConcurrentExports` exports run at
///   once, so the queue keeps draining while earlier batches are on their way; each is
///   abandoned after `exportTimeout` (its spans count as failed, and the exporter's task is
///   cancelled). With one export at a time, batches reach the exporter in the order the
///   spans ended; with more, calls may finish in any order.
/// - ``forceFlush(deadline:)`` returns once every span queued before the call has been
///   through an export attempt, or at the deadline.
final class BatchSpanProcessor: Sendable {
    struct Settings: Sendable {
        var maxQueueSize: Int
        var maxExportBatchSize: Int
        var scheduleDelay: Duration
        var exportTimeout: Duration
        var maxConcurrentExports: Int = 1
        /// The longest a producer waits for room; zero turns waiting off.
        var maxQueueWait: Duration = .zero
        /// Producers wait once the queue holds this many spans...
        var highWaterMark: Int
        /// ...until exports have drained it to this many.
        var lowWaterMark: Int

        init(
            maxQueueSize: Int, maxExportBatchSize: Int, scheduleDelay: Duration,
            exportTimeout: Duration, maxConcurrentExports: Int = 1,
            maxQueueWait: Duration = .zero
        ) {
            self.maxQueueSize = maxQueueSize
            self.maxExportBatchSize = maxExportBatchSize
            self.scheduleDelay = scheduleDelay
            self.exportTimeout = exportTimeout
            self.maxConcurrentExports = maxConcurrentExports
            self.maxQueueWait = maxQueueWait
            // Three quarters leaves room for spans ended without waiting; waiting until half
            // makes one producer's wait cover a quarter of the queue rather than one span.
            self.highWaterMark = max(1, maxQueueSize - maxQueueSize / 4)
            self.lowWaterMark = maxQueueSize / 2
        }
    }

    /// A producer suspended until the queue has room.
    private struct RoomWaiter {
        /// The span to queue once there is room; nil for ``waitForRoom()``.
        var span: SpanData?
        var deadline: Duration
        /// Resumed with true once let in, false when the wait ran out or at shutdown.
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct FlushWaiter {
        var id: UInt64
        /// Satisfied once `completedTotal` reaches this.
        var target: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        /// The queue, oldest first, in chunks of at most one export batch; only the last
        /// chunk may be partial. A full chunk leaves as a batch without being copied.
        var chunks: [[SpanData]] = []
        var queueLength = 0
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
        /// Set by the schedule-delay tick; cleared when a batch leaves.
        var scheduleDelayPassed = false
        var flushWaiters: [FlushWaiter] = []
        var nextWaiterID: UInt64 = 0
        var roomWaiters: [RoomWaiter] = []
        var isWaitTimerRunning = false
        /// Set when a wait ran out; cleared once exports drain the queue to the low-water
        /// mark. While set, nobody waits.
        var isShedding = false
        var throttled = 0
        var throttleTimeouts = 0
    }

    /// The counters, for ``TracerStatistics``.
    struct Counters {
        var ended = 0
        var exported = 0
        var dropped = 0
        var failed = 0
        var rejected = 0
        var queueLength = 0
        var throttled = 0
        var throttleTimeouts = 0
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
    private let waitTimerTask = Mutex<Task<Void, Never>?>(nil)
    private let tickTask = Mutex<Task<Void, Never>?>(nil)

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
        let ticks = Task { [self] in await self.tickEveryScheduleDelay() }
        tickTask.withLock { $0 = ticks }
    }

    func counters() -> Counters {
        state.withLock {
            Counters(
                ended: $0.ended, exported: $0.exported, dropped: $0.dropped, failed: $0.failed,
                rejected: $0.rejected, queueLength: $0.queueLength, throttled: $0.throttled,
                throttleTimeouts: $0.throttleTimeouts)
        }
    }

    // MARK: - Hot path

    func spanEnded(_ data: SpanData) {
        var wake: CheckedContinuation<Void, Never>?
        let startedDropping = state.withLock { state -> Bool in
            state.ended += 1
            return handOver(data, &state, wake: &wake)
        }
        wake?.resume()
        if startedDropping { warnQueueFull() }
    }

    /// Queues the span, or drops and counts it when the queue is full or shut down. Sets
    /// `wake` when the loop is to be woken; returns true when this drop starts a run of
    /// drops (which is logged once).
    private func handOver(
        _ data: SpanData, _ state: inout State, wake: inout CheckedContinuation<Void, Never>?
    ) -> Bool {
        guard !state.isShutdown, state.queueLength < settings.maxQueueSize else {
            state.dropped += 1
            let startedDropping = !state.isDropping && !state.isShutdown
            state.isDropping = true
            return startedDropping
        }
        append(data, &state)
        if state.queueLength == settings.maxExportBatchSize { wake = Self.takeWake(&state) }
        return false
    }

    private func append(_ data: SpanData, _ state: inout State) {
        let last = state.chunks.count - 1
        if last >= 0, state.chunks[last].count < settings.maxExportBatchSize {
            state.chunks[last].append(data)
        } else {
            var chunk: [SpanData] = []
            chunk.reserveCapacity(settings.maxExportBatchSize)
            chunk.append(data)
            state.chunks.append(chunk)
        }
        state.queueLength += 1
        state.acceptedTotal += 1
    }

    private func warnQueueFull() {
        logger.warning(
            "span queue full (\(settings.maxQueueSize)); dropping ended spans until an "
                + "export makes room",
            [LogKey.reason: "queue_full"])
    }

    // MARK: - Back-pressure

    /// The first step of ending a span with back-pressure, which never suspends: queues the
    /// span like ``spanEnded(_:)`` unless the caller must wait for room (see the type's
    /// contract), and returns false then; the caller goes on with
    /// ``waitForRoom(queueing:)``.
    ///
    /// Two steps, because callers rarely need to wait: in the 15 000 spans/s profile of
    /// `sightline bench tracing`, one `async` hand-over per span cost about 0.65 µs against
    /// 0.25 µs for the synchronous one.
    func spanEndedUnlessWaiting(_ data: SpanData) -> Bool {
        var wake: CheckedContinuation<Void, Never>?
        let outcome = state.withLock { state -> Bool? in
            state.ended += 1
            return mustWait(state) ? nil : handOver(data, &state, wake: &wake)
        }
        wake?.resume()
        guard let startedDropping = outcome else { return false }
        if startedDropping { warnQueueFull() }
        return true
    }

    /// Waits in line and then queues `data` (already counted as ended by
    /// ``spanEndedUnlessWaiting(_:)``).
    func waitForRoom(queueing data: SpanData) async {
        await waitInLine(with: data)
    }

    /// Returns at once while the queue is below its high-water mark; otherwise waits like
    /// ``waitForRoom(queueing:)``. True when let in, false when the wait ran out or the
    /// processor shut down.
    func waitForRoom() async -> Bool {
        guard state.withLock({ mustWait($0) }) else { return true }
        return await waitInLine(with: nil)
    }

    private func mustWait(_ state: State) -> Bool {
        guard settings.maxQueueWait > .zero, !state.isShutdown, !state.isShedding else {
            return false
        }
        return !state.roomWaiters.isEmpty || state.queueLength >= settings.highWaterMark
    }

    @discardableResult
    private func waitInLine(with span: SpanData?) async -> Bool {
        let deadline = clock.now() + settings.maxQueueWait
        return await withCheckedContinuation { continuation in
            var wake: CheckedContinuation<Void, Never>?
            var startedDropping = false
            var startTimer = false
            let waiting = state.withLock { state -> Bool in
                // The queue may have drained since the caller looked.
                guard mustWait(state) else {
                    if let span { startedDropping = handOver(span, &state, wake: &wake) }
                    return false
                }
                state.roomWaiters.append(
                    RoomWaiter(span: span, deadline: deadline, continuation: continuation))
                state.throttled += 1
                startTimer = !state.isWaitTimerRunning
                state.isWaitTimerRunning = true
                // With waiters the loop exports whatever is queued as soon as a slot frees.
                wake = Self.takeWake(&state)
                return true
            }

            wake?.resume()
            if startedDropping { warnQueueFull() }
            if !waiting { continuation.resume(returning: true) }
            if startTimer {
                let task = Task { [self] in await expireWaiters() }
                waitTimerTask.withLock { $0 = task }
            }
        }
    }

    /// Lets waiters in, oldest first, once exports have drained the queue to the low-water
    /// mark, until the queue is back at the high-water mark. Returns whom to resume.
    private func admitWaiters(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        guard state.queueLength <= settings.lowWaterMark else { return [] }
        state.isShedding = false

        var admitted = 0
        while admitted < state.roomWaiters.count, state.queueLength < settings.highWaterMark {
            if let span = state.roomWaiters[admitted].span { append(span, &state) }
            admitted += 1
        }
        guard admitted > 0 else { return [] }
        let resumed = state.roomWaiters[..<admitted].map(\.continuation)
        state.roomWaiters.removeFirst(admitted)
        return resumed
    }

    /// Sleeps until the oldest waiter's deadline; if it is still waiting then, releases every
    /// waiter as the type's contract says. Runs while anyone waits.
    private func expireWaiters() async {
        while true {
            let now = clock.now()
            var expired: [RoomWaiter] = []
            var wake: CheckedContinuation<Void, Never>?
            var startedDropping = false
            let next = state.withLock { state -> Duration? in
                guard let oldest = state.roomWaiters.first else {
                    state.isWaitTimerRunning = false
                    return nil
                }
                guard oldest.deadline <= now else { return oldest.deadline }

                state.isShedding = true
                state.throttleTimeouts += state.roomWaiters.count
                expired = state.roomWaiters
                state.roomWaiters = []
                for waiter in expired {
                    guard let span = waiter.span else { continue }
                    var ignored: CheckedContinuation<Void, Never>?
                    if handOver(span, &state, wake: &ignored) { startedDropping = true }
                    // The loop is woken below, whether or not this span filled a batch.
                    wake = wake ?? ignored
                }
                if wake == nil, state.queueLength >= settings.maxExportBatchSize {
                    wake = Self.takeWake(&state)
                }
                state.isWaitTimerRunning = false
                return nil
            }

            if !expired.isEmpty {
                logger.warning(
                    "span exports made no room for \(settings.maxQueueWait); \(expired.count) "
                        + "producers go on without waiting until the queue drains",
                    [LogKey.count: String(expired.count), LogKey.reason: "queue_wait_timeout"])
            }
            wake?.resume()
            if startedDropping { warnQueueFull() }
            for waiter in expired { waiter.continuation.resume(returning: false) }

            guard let next else { return }
            do {
                try await clock.sleep(for: next - now)
            } catch {
                // Cancelled by stopLoop(): waiters, if any, were released by shutdown.
                state.withLock { $0.isWaitTimerRunning = false }
                return
            }
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
            while !Task.isCancelled {
                var satisfied: [FlushWaiter] = []
                var admitted: [CheckedContinuation<Bool, Never>] = []
                let step = state.withLock { state -> Step in
                    satisfied = Self.takeSatisfiedFlushWaiters(&state)
                    let step = nextStep(&state)
                    admitted = admitWaiters(&state)
                    return step
                }
                for waiter in satisfied { waiter.continuation.resume(returning: true) }
                for waiter in admitted { waiter.resume(returning: true) }

                switch step {
                case .export(let batch):
                    group.addTask { [self] in
                        let result = await exportWithTimeout(batch)
                        record(result, count: batch.count)
                    }
                case .wait:
                    await waitForWake()
                case .stop:
                    return
                }
            }
        }
    }

    /// Takes the next batch when one is due and an export slot is free.
    private func nextStep(_ state: inout State) -> Step {
        let wantsEverything =
            !state.flushWaiters.isEmpty || state.isShutdown || !state.roomWaiters.isEmpty
        let batchDue =
            state.queueLength >= settings.maxExportBatchSize || state.scheduleDelayPassed
            || wantsEverything
        if state.queueLength > 0, batchDue,
            state.exportsInFlight < settings.maxConcurrentExports
        {
            state.exportsInFlight += 1
            state.scheduleDelayPassed = false
            let batch = state.chunks.removeFirst()
            state.queueLength -= batch.count
            return .export(batch)
        }
        if state.isShutdown, state.queueLength == 0, state.exportsInFlight == 0 {
            state.isLoopFinished = true
            return .stop
        }
        return .wait
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

    /// Marks the schedule delay as passed every `scheduleDelay`, waking the loop when a
    /// partial batch waits, so that no span waits longer than that for its export.
    ///
    /// One long-lived timer instead of a timed wait per batch: in the 15 000 spans/s
    /// profile of `sightline bench tracing`, each wait of the loop armed and cancelled a
    /// timer in a task group of two child tasks, a per-batch cost that shows at low rates,
    /// where every wake-up finds the threads idle.
    private func tickEveryScheduleDelay() async {
        while true {
            do {
                try await clock.sleep(for: settings.scheduleDelay)
            } catch {
                return
            }
            let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.queueLength > 0 else { return nil }
                state.scheduleDelayPassed = true
                return Self.takeWake(&state)
            }
            wake?.resume()
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
        releaseWaiters()

        let flushed = await waitForQueuedSpans(deadline: deadline)
        if !flushed {
            let left = state.withLock { state -> Int in
                let left = state.queueLength
                state.dropped += left
                state.completedTotal += UInt64(left)
                state.chunks.removeAll()
                state.queueLength = 0
                return left
            }
            logger.warning(
                "shutdown deadline reached; dropped \(left) queued spans",
                [LogKey.count: String(left), LogKey.reason: "shutdown_deadline"])
        }
        stopLoop()
        await exporter.shutdown(deadline: deadline)
    }

    /// Cancels the export loop and releases waiting producers (used at shutdown and when the
    /// tracer goes away).
    func stopLoop() {
        loopTask.withLock { $0 }?.cancel()
        tickTask.withLock { $0 }?.cancel()
        releaseWaiters()
        waitTimerTask.withLock { $0 }?.cancel()
    }

    /// Resumes every producer waiting for room; their spans are dropped and counted.
    private func releaseWaiters() {
        let released = state.withLock { state -> [RoomWaiter] in
            defer { state.roomWaiters = [] }
            state.dropped += state.roomWaiters.count { $0.span != nil }
            return state.roomWaiters
        }
        for waiter in released { waiter.continuation.resume(returning: false) }
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
