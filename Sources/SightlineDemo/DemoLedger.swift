import Synchronization

/// Keeps the demo's own account of what each group handled, so that the summary can prove
/// every order was handled once, in order per customer.
final class DemoLedger: Sendable {
    private struct State {
        var handled: [DemoGroup: [Bool]] = [:]
        var delivered: [DemoGroup: Int] = [:]
        var duplicates = 0
        var retries = 0
        var lastCreditOrder: [String: Int] = [:]
        var orderViolations = 0
        var published = 0
    }

    private let state: Mutex<State>

    init(orderCount: Int) {
        var initial = State()
        for group in DemoGroup.allCases {
            initial.handled[group] = Array(repeating: false, count: orderCount)
        }
        state = Mutex(initial)
    }

    func recordPublished() {
        state.withLock { $0.published += 1 }
    }

    func recordAttempt(_ attempt: Int) {
        guard attempt > 1 else { return }
        state.withLock { $0.retries += 1 }
    }

    func recordHandled(orderIndex: Int, by group: DemoGroup) {
        state.withLock { state in
            if state.handled[group]![orderIndex] {
                state.duplicates += 1
            } else {
                state.handled[group]![orderIndex] = true
            }
            state.delivered[group, default: 0] += 1
        }
    }

    /// Orders of one customer are listed in increasing index, so a reservation with a lower
    /// index than the last one seen for its customer was handled out of order.
    func recordCredit(orderIndex: Int, customerID: String) {
        state.withLock { state in
            if let last = state.lastCreditOrder[customerID], last > orderIndex {
                state.orderViolations += 1
            }
            state.lastCreditOrder[customerID] = orderIndex
        }
    }

    var snapshot:
        (
            published: Int, delivered: [DemoGroup: Int], retries: Int, duplicates: Int,
            orderViolations: Int
        )
    {
        state.withLock {
            ($0.published, $0.delivered, $0.retries, $0.duplicates, $0.orderViolations)
        }
    }
}
