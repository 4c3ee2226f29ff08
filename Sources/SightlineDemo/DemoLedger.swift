import Sightline
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
        var insights: [InsightOutcome: [Priority: Int]] = [:]
        var insightsReported = 0
        var shedByMonth: [Int: Int] = [:]
    }

    /// What became of an insight a handler tried to publish.
    enum InsightOutcome: String, CaseIterable {
        case published
        /// Refused by the back-pressure controller.
        case shed
        /// Refused by the reporting group's full queue.
        case refused
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

    /// - Parameter day: the order's day (`yyyymmdd`), so that sheds can be shown by month.
    func recordInsight(priority: Priority, outcome: InsightOutcome, day: Int) {
        state.withLock { state in
            state.insights[outcome, default: [:]][priority, default: 0] += 1
            if outcome == .shed { state.shedByMonth[day / 100, default: 0] += 1 }
        }
    }

    /// Shed insights per month of the orders' dates, keyed `yyyy-mm`.
    var shedByMonth: [String: Int] {
        state.withLock { state in
            var months: [String: Int] = [:]
            for (month, count) in state.shedByMonth {
                months["\(month / 100)-\(month % 100 < 10 ? "0" : "")\(month % 100)"] = count
            }
            return months
        }
    }

    func recordInsightReported() {
        state.withLock { $0.insightsReported += 1 }
    }

    /// Insight counts by outcome and priority name, and how many reporting handled.
    var insights: (byOutcome: [String: [String: Int]], reported: Int) {
        state.withLock { state in
            var byOutcome: [String: [String: Int]] = [:]
            for outcome in InsightOutcome.allCases {
                var counts: [String: Int] = [:]
                for priority in [Priority.high, .low] {
                    counts[priority.rawValue] = state.insights[outcome]?[priority] ?? 0
                }
                byOutcome[outcome.rawValue] = counts
            }
            return (byOutcome, state.insightsReported)
        }
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
