import Sightline
import Synchronization

struct OrderPlaced: Event {
    static let messageType = "shop.OrderPlaced"
    static let channel = "orders"

    var orderID: Int
    var partitionKey: String? { nil }
}

/// Records what a handler saw, in order, across tasks.
final class HandledOrders: Sendable {
    struct Entry: Hashable, Sendable {
        var orderID: Int
        var attempt: Int
    }

    private let entries = Mutex<[Entry]>([])

    func append(_ orderID: Int, attempt: Int = 1) {
        entries.withLock { $0.append(Entry(orderID: orderID, attempt: attempt)) }
    }

    var values: [Entry] { entries.withLock { $0 } }
    var orderIDs: [Int] { values.map(\.orderID) }
}
