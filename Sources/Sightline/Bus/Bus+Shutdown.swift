import Synchronization

extension Bus {
    /// Stops the bus: new messages are refused, queued work drains until `deadline` passes,
    /// then workers stop and the report says what was left unfinished.
    ///
    /// Handlers that are still draining may publish follow-up messages; those drain too.
    /// Requests still waiting for a reply fail with `shuttingDown`. Calling it again returns
    /// at once with an empty report.
    public func shutdown(deadline: Duration) async -> ShutdownReport {
        let (wasRunning, _) = lifecycle.compareExchange(
            expected: .running, desired: .draining, ordering: .acquiringAndReleasing)
        guard wasRunning else {
            return ShutdownReport(drained: true, unfinished: [:], abandonedRequests: 0)
        }

        let drained = await firstOf(
            { [transport] in
                await transport.waitUntilIdle()
                return true
            },
            { [clock] in
                try? await clock.sleep(for: deadline)
                return false
            })

        lifecycle.store(.stopped, ordering: .releasing)
        let unfinished = await transport.close()
        let tasks = workers.withLock { workers in
            defer { workers = [] }
            return workers
        }
        for task in tasks { task.cancel() }

        let pending = pendingReplies.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        for (_, reply) in pending {
            reply.timer?.cancel()
            reply.continuation.resume(
                throwing: BusError(.shuttingDown, "the bus stopped before the reply came"))
        }

        let report = ShutdownReport(
            drained: drained && unfinished.isEmpty, unfinished: unfinished,
            abandonedRequests: pending.count)
        if !report.drained {
            logger.warning(
                "bus stopped with unfinished messages",
                [LogKey.count: String(report.unfinishedCount)])
        }
        return report
    }
}

/// Runs both operations and returns the first result; the other keeps running detached
/// until it ends on its own (both here end once the transport closes or the sleep ends).
private func firstOf(
    _ first: @escaping @Sendable () async -> Bool, _ second: @escaping @Sendable () async -> Bool
) async -> Bool {
    await withCheckedContinuation { continuation in
        let once = OnceContinuation(continuation)
        let timer = Task { once.resume(await second()) }
        Task {
            let result = await first()
            once.resume(result)
            timer.cancel()
        }
    }
}

/// Resumes a continuation at most once, from whichever caller comes first.
private final class OnceContinuation: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Bool) {
        let taken = continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }
        taken?.resume(returning: value)
    }
}
