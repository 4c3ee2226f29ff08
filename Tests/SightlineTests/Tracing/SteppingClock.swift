import Foundation
import Sightline
import Synchronization

/// A clock whose wall time and monotonic time the test sets independently.
final class SteppingClock: BusClock {
    private let state = Mutex<(monotonic: Duration, wallSeconds: Double)>((.zero, 1000))

    func set(monotonic: Duration, wallSeconds: Double) {
        state.withLock { $0 = (monotonic, wallSeconds) }
    }

    func now() -> Duration { state.withLock { $0.monotonic } }

    func wallTime() -> Date {
        Date(timeIntervalSince1970: state.withLock { $0.wallSeconds })
    }

    func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}
