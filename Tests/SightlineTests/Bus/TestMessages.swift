import Sightline

struct OrderPlaced: Event, Equatable {
    static let messageType = "test.OrderPlaced"
    static let channel = "orders"

    var orderID: Int
    var customer: String
    var amount: Double

    var partitionKey: String? { customer }

    func validate() throws {
        guard amount > 0 else { throw InvalidMessageError("amount must be positive") }
    }
}

struct ChargeCard: Command, Equatable {
    static let messageType = "test.ChargeCard"

    var orderID: Int
}

struct Unhandled: Command {
    static let messageType = "test.Unhandled"
}

struct GetQuote: Request {
    typealias Reply = Quote
    static let messageType = "test.GetQuote"

    var item: String
}

struct Quote: Codable, Sendable, Equatable {
    var item: String
    var price: Double
}

struct TransientError: Error {}

/// Counts calls and remembers values across handler tasks.
actor Recorder<Value: Sendable> {
    private(set) var values: [Value] = []

    func append(_ value: Value) { values.append(value) }

    var count: Int { values.count }
}

/// Waits, yielding, until `condition` holds; gives up after many yields.
func eventually(_ condition: @Sendable () async -> Bool) async -> Bool {
    for _ in 0..<200_000 {
        if await condition() { return true }
        await Task.yield()
    }
    return await condition()
}
