import Foundation
import Sightline
import Synchronization

/// A clock that only moves when a test advances it.
///
/// Sleepers are resumed, in deadline order, by ``advance(by:)``. A test that needs to know
/// that code has started to wait uses ``waitForSleepers(count:)``.
public final class ManualClock: BusClock {
    private struct Sleeper {
        var deadline: Duration
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        var sleeps: [Duration] = []
    }

    private let state = Mutex(State())
    private let wallOrigin: Date

    public init(wallOrigin: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        self.wallOrigin = wallOrigin
    }

    public func now() -> Duration { state.withLock { $0.now } }

    public func wallTime() -> Date { wallOrigin.addingTimeInterval(now().seconds) }

    /// Every duration passed to `sleep(for:)` so far, in call order.
    public var requestedSleeps: [Duration] { state.withLock { $0.sleeps } }

    /// How many tasks are suspended in `sleep(for:)` right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(for duration: Duration) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.sleeps.append(duration)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if duration <= .zero { return true }
                    let sleeper = Sleeper(
                        deadline: state.now + duration, id: id, continuation: continuation)
                    state.sleepers.append(sleeper)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and resumes every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now += duration
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted {
                $0.deadline < $1.deadline
            }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (yielding, never sleeping on the wall clock for long) until at least `count`
    /// tasks are suspended in `sleep(for:)`. Gives up after `spins` yields and returns false.
    @discardableResult
    public func waitForSleepers(count: Int, spins: Int = 1_000_000) async -> Bool {
        for _ in 0..<spins {
            if sleeperCount >= count { return true }
            await Task.yield()
        }
        return sleeperCount >= count
    }
}
