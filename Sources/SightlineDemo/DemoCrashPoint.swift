import Foundation
import Synchronization

/// Kills the process with SIGKILL at a chosen point of the saga demo, for crash tests:
/// `SIGHTLINE_DEMO_KILL_AT=<point>:<n>` kills at the n-th time `point` is reached.
///
/// Points: `order-placed` (a saga started, the replay position not yet saved),
/// `credit-before-commit` and `credit-after-commit` (inside and just after the credit
/// reservation's unit of work; after commit the relay has not marked the command sent),
/// `shipping-after-commit`, `compensation-before-commit`, `compensation-after-commit`
/// (the credit release).
final class DemoCrashPoint: Sendable {
    private let point: String?
    private let target: Int
    private let hits = Mutex(0)

    init(environment: [String: String]) {
        let parts = environment["SIGHTLINE_DEMO_KILL_AT"]?.split(separator: ":") ?? []
        if parts.count == 2, let count = Int(parts[1]), count > 0 {
            point = String(parts[0])
            target = count
        } else {
            point = nil
            target = 0
        }
    }

    /// Kills the process when `name` is the chosen point and this is its n-th hit.
    func reach(_ name: String) {
        guard name == point else { return }
        let due = hits.withLock { hits -> Bool in
            hits += 1
            return hits == target
        }
        if due { kill(getpid(), SIGKILL) }
    }
}
