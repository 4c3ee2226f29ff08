import Foundation
import Synchronization

/// A thread of its own that owns one ``SQLiteConnection`` and runs jobs on it in order.
///
/// SQLite calls block (disk I/O, busy waits up to the busy timeout), so they never run on
/// the cooperative pool: callers suspend while their job waits in a bounded queue and runs
/// here. When the queue is full, callers suspend until there is room, so memory stays
/// bounded however many tasks use the store.
final class SQLiteWorker: Sendable {
    typealias Job = @Sendable (SQLiteConnection) -> Void

    private struct State {
        var jobs = RingQueue<Job>()
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var isStopping = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let capacity: Int
    let path: String

    /// Starts the thread; its connection to `path` is not opened until a job opens it.
    init(path: String, capacity: Int) {
        self.path = path
        self.capacity = max(1, capacity)
        let thread = Thread { [self] in self.loop() }
        thread.name = "sightline.sqlite"
        thread.start()
    }

    /// Runs `body` on the worker's thread and returns its result.
    ///
    /// Jobs run one at a time in the order they were queued. Cancelling the caller does
    /// not cancel a queued job.
    ///
    /// - Throws: what `body` threw; ``SQLiteStoreError`` `closed` after ``stop()``.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T)
        async throws -> T
    {
        await waitForRoom()
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue { connection in
                continuation.resume(with: Result { try body(connection) })
            }
            if !accepted {
                continuation.resume(
                    throwing: SQLiteStoreError(.closed, path: path, "the store is closed"))
            }
        }
    }

    /// Queues the closing of the connection after every job already queued, then ends the
    /// thread. Jobs queued later fail with `closed`.
    func stop() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if !state.isStopping {
                state.jobs.append { connection in connection.close() }
                state.isStopping = true
            }
            defer { state.roomWaiters.removeAll() }
            return state.roomWaiters
        }
        wake.signal()
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Queue

    private func waitForRoom() async {
        let hasRoom = state.withLock { $0.jobs.count < capacity || $0.isStopping }
        if hasRoom { return }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.jobs.count < capacity || state.isStopping { return true }
                state.roomWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Adds a job; false when the worker is stopping. Room waiters keep the queue at its
    /// capacity (a waiter let in by a popped job may overshoot it by the few that raced).
    private func enqueue(_ job: @escaping Job) -> Bool {
        let accepted = state.withLock { state -> Bool in
            if state.isStopping { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { wake.signal() }
        return accepted
    }

    private func loop() {
        let connection = SQLiteConnection(path: path)
        while true {
            wake.wait()
            let (job, waiter, finished) = state.withLock {
                state -> (Job?, CheckedContinuation<Void, Never>?, Bool) in
                let job = state.jobs.popFirst()
                let waiter = state.roomWaiters.isEmpty ? nil : state.roomWaiters.removeFirst()
                return (job, waiter, state.isStopping && state.jobs.isEmpty)
            }
            waiter?.resume()
            job?(connection)
            if finished { break }
        }
        connection.close()
    }
}

/// A first-in first-out queue with amortised constant-time removal at the front.
struct RingQueue<Element> {
    private var storage: [Element?] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head > 64 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }
}
