import Sightline

/// A customer placed an order: the event every demo subscriber group receives, at schema
/// version 2 (version 1, ``OrderPlacedV1``, had no currency).
public struct OrderPlaced: Event {
    public static let messageType = "demo.OrderPlaced"
    public static let channel = "orders"
    public static let schemaVersion = 2

    public var orderIndex: Int
    public var customerID: String
    public var day: Int
    public var compactDiscs: Int
    public var dollars: Double
    /// The ISO 4217 code of `dollars`' currency; new in version 2.
    public var currency: String

    public init(
        orderIndex: Int, customerID: String, day: Int, compactDiscs: Int, dollars: Double,
        currency: String = "USD"
    ) {
        self.orderIndex = orderIndex
        self.customerID = customerID
        self.day = day
        self.compactDiscs = compactDiscs
        self.dollars = dollars
        self.currency = currency
    }

    public var partitionKey: String? { customerID }

    /// A purchase with no dollar value cannot be billed or shipped.
    public func validate() throws {
        guard dollars > 0 else {
            throw InvalidMessageError(
                "dollar value is zero (order \(orderIndex), customer \(customerID))")
        }
    }
}

/// Billing asks the credit service to reserve the order's amount. Keyed by customer, so a
/// customer's reservations are handled in order.
public struct ReserveCredit: Command {
    public static let messageType = "demo.ReserveCredit"
    public static let channel = "credit"

    public var orderIndex: Int
    public var customerID: String
    public var dollars: Double
    /// The order's day (`yyyymmdd`); optional, so that senders of the first version of this
    /// command stay compatible.
    public var day: Int?

    public var partitionKey: String? { customerID }

    public var priority: Priority { .high }
}
