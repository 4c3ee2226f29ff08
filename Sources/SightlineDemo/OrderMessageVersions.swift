import Sightline

/// `OrderPlaced` as version 1 published it: no currency (every CDNOW order is in dollars).
public struct OrderPlacedV1: Event {
    public static let messageType = OrderPlaced.messageType
    public static let channel = OrderPlaced.channel
    public static let schemaVersion = 1

    public var orderIndex: Int
    public var customerID: String
    public var day: Int
    public var compactDiscs: Int
    public var dollars: Double

    public var partitionKey: String? { customerID }

    public init(orderIndex: Int, customerID: String, day: Int, compactDiscs: Int, dollars: Double) {
        self.orderIndex = orderIndex
        self.customerID = customerID
        self.day = day
        self.compactDiscs = compactDiscs
        self.dollars = dollars
    }
}

/// A version of `OrderPlaced` no demo consumer knows yet, published on purpose
/// (`--unreadable-share`) to show unreadable messages ending in dead letters.
public struct OrderPlacedFromTheFuture: Event {
    public static let messageType = OrderPlaced.messageType
    public static let channel = OrderPlaced.channel
    public static let schemaVersion = 3

    public var orderIndex: Int
    public var customerID: String
    public var amount: Money

    public var partitionKey: String? { customerID }

    /// An amount with its currency, as version 3 would carry it.
    public struct Money: Codable, Sendable {
        public var value: Double
        public var currency: String
    }
}

/// The demo service's message types, for `sightline schema snapshot` and `check`.
public enum DemoSchemas {
    /// Every type the demo publishes or handles. The future version is left out: it is not
    /// a contract the service offers, only a probe.
    public static func registry() throws -> SchemaRegistry {
        try SchemaRegistry([OrderPlacedV1.self, OrderPlaced.self, ReserveCredit.self])
    }

    /// How order consumers (version 2) read version 1.
    public static let orderUpcasters: [Upcaster<OrderPlaced>] = [
        Upcaster(from: OrderPlacedV1.self) { v1 in
            OrderPlaced(
                orderIndex: v1.orderIndex, customerID: v1.customerID, day: v1.day,
                compactDiscs: v1.compactDiscs, dollars: v1.dollars, currency: "USD")
        }
    ]
}

extension DemoRunner {
    /// Publishes one purchase as `OrderPlaced` version 1 before `versionTwoFrom` and
    /// version 2 after, followed by an unreadable future version for a seeded share.
    func publishOrder(_ purchase: Purchase, on bus: Bus, ledger: DemoLedger) async throws {
        if purchase.day < configuration.versionTwoFrom {
            try await bus.publish(
                OrderPlacedV1(
                    orderIndex: purchase.index, customerID: purchase.customerID,
                    day: purchase.day, compactDiscs: purchase.compactDiscs,
                    dollars: purchase.dollars))
        } else {
            try await bus.publish(
                OrderPlaced(
                    orderIndex: purchase.index, customerID: purchase.customerID,
                    day: purchase.day, compactDiscs: purchase.compactDiscs,
                    dollars: purchase.dollars))
        }
        ledger.recordPublished()

        if isUnreadable(purchase) {
            try await bus.publish(
                OrderPlacedFromTheFuture(
                    orderIndex: purchase.index, customerID: purchase.customerID,
                    amount: .init(value: purchase.dollars, currency: "USD")))
        }
    }

    /// Whether the purchase gets an unreadable companion; repeatable for a seed.
    func isUnreadable(_ purchase: Purchase) -> Bool {
        guard configuration.unreadableShare > 0 else { return false }
        var generator = SplitMix64(
            seed: configuration.seed ^ 0x5EED_F00D ^ UInt64(purchase.index) &* 0x2545_F491)
        return generator.nextUnit() < configuration.unreadableShare
    }

    func unreadableCount(_ purchases: [Purchase]) -> Int {
        purchases.filter(isUnreadable).count
    }

    func ordersByVersion(_ purchases: [Purchase]) -> [String: Int] {
        let first = purchases.filter { $0.day < configuration.versionTwoFrom }.count
        return ["1": first, "2": purchases.count - first]
    }
}
