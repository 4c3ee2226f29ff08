import Sightline
import Synchronization

/// Wakes one waiting task early, or remembers the wake-up for the next wait.
///
/// Meant for a single waiter (a relay loop); a second concurrent wait replaces the first,
/// which then returns at once.
final class WakeSignal: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var pending = false
        var nextID: UInt64 = 0
        var waiter: Waiter?
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or makes the next wait return at once.
    func signal() {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.continuation.resume()
    }

    /// Returns when signalled, after `timeout` on `clock`, or when the task is cancelled.
    func wait(upTo timeout: Duration, clock: any BusClock) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        // The timer is not awaited: a sleep whose cancellation races with its start may not
        // end until its deadline, and the wait must not depend on that.
        let timer = Task { [self] in
            try? await clock.sleep(for: timeout)
            wake(id: id)
        }
        defer { timer.cancel() }

        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (resumeNow, replaced) = state.withLock { state -> (Bool, Waiter?) in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return (true, nil)
                    }
                    let replaced = state.waiter
                    state.waiter = Waiter(id: id, continuation: continuation)
                    return (false, replaced)
                }
                replaced?.continuation.resume()
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(id: id)
        }
    }

    /// Resumes the waiter if it is still the wait numbered `id`.
    private func wake(id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.continuation.resume()
    }
}
