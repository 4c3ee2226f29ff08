import Sightline

// The messages of the order saga that `sightline demo --store PATH` runs. Every command is
// answered by its participant with an event in the same unit of work as its own writes.

/// What the order saga carries from step to step.
public struct SagaOrderData: Codable, Sendable, Hashable {
    public var orderIndex: Int
    public var customerID: String
    public var cents: Int
}

/// Step 1: record the order.
struct AcceptOrder: Command {
    static let messageType = "demo.saga.AcceptOrder"
    static let channel = "saga-orders"
    var order: SagaOrderData
}

struct OrderAccepted: Event {
    static let messageType = "demo.saga.OrderAccepted"
    static let channel = "saga-answers"
    var orderIndex: Int
}

/// Compensation of step 1.
struct CancelOrder: Command {
    static let messageType = "demo.saga.CancelOrder"
    static let channel = "saga-orders"
    var order: SagaOrderData
}

/// Step 2: reserve the amount against the customer's credit limit.
struct ReserveOrderCredit: Command {
    static let messageType = "demo.saga.ReserveCredit"
    static let channel = "saga-credit"
    var order: SagaOrderData
}

struct CreditReserved: Event {
    static let messageType = "demo.saga.CreditReserved"
    static let channel = "saga-answers"
    var orderIndex: Int
}

struct CreditRefused: Event {
    static let messageType = "demo.saga.CreditRefused"
    static let channel = "saga-answers"
    var orderIndex: Int
}

/// Compensation of step 2.
struct ReleaseCredit: Command {
    static let messageType = "demo.saga.ReleaseCredit"
    static let channel = "saga-credit"
    var order: SagaOrderData
}

/// Step 3: schedule shipping; a seeded share fails.
struct ScheduleShipping: Command {
    static let messageType = "demo.saga.ScheduleShipping"
    static let channel = "saga-shipping"
    var order: SagaOrderData
}

struct ShippingScheduled: Event {
    static let messageType = "demo.saga.ShippingScheduled"
    static let channel = "saga-answers"
    var orderIndex: Int
}

struct ShippingFailed: Event {
    static let messageType = "demo.saga.ShippingFailed"
    static let channel = "saga-answers"
    var orderIndex: Int
}
