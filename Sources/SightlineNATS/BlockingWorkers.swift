import Foundation

/// A few threads of their own that run blocking cnats calls, so that no cooperative thread
/// waits on the network.
///
/// Jobs queue in a bounded queue; `run` fails at once when it is full rather than growing
/// without bound.
final class BlockingWorkers: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
        var stopped = false
    }

    // NSCondition is thread-safe; every access to `state` happens while it is locked.
    private let condition = NSCondition()
    private nonisolated(unsafe) var state = State()
    private let capacity: Int
    let name: String

    init(name: String, threads: Int, capacity: Int) {
        self.name = name
        self.capacity = max(1, capacity)
        for index in 0..<max(1, threads) {
            let thread = Thread { [self] in loop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on one of the threads and returns its result.
    ///
    /// - Throws: what `body` threw, or ``NATSError`` `requestFailed` when the queue is full
    ///   or the workers were stopped.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = submit {
                continuation.resume(with: Result { try body() })
            }
            if !accepted {
                continuation.resume(
                    throwing: NATSError(
                        .requestFailed, "\(name): more than \(capacity) blocking calls queued"))
            }
        }
    }

    /// Queues a job; false when the queue is full or stopped.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.stopped, state.jobs.count - state.head < capacity else { return false }
        state.jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets the threads finish queued jobs and end.
    func stop() {
        condition.lock()
        state.stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while let job = next() {
            job()
        }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while state.head == state.jobs.count {
            if state.stopped { return nil }
            condition.wait()
        }
        let job = state.jobs[state.head]
        state.head += 1
        if state.head > 256, state.head * 2 > state.jobs.count {
            state.jobs.removeFirst(state.head)
            state.head = 0
        }
        return job
    }
}
