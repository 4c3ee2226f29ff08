import Sightline

/// A customer placed an order: the event every demo subscriber group receives.
public struct OrderPlaced: Event {
    public static let messageType = "demo.OrderPlaced"
    public static let channel = "orders"

    public var orderIndex: Int
    public var customerID: String
    public var day: Int
    public var compactDiscs: Int
    public var dollars: Double

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

    public var partitionKey: String? { customerID }

    public var priority: Priority { .high }
}
