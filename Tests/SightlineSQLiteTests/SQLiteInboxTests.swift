import Foundation
import Sightline
import SightlineSQLite
import SightlineTestKit
import Testing

@Suite struct SQLiteInboxTests {
    let directory: TemporaryDirectory
    let path: String
    let clock = ManualClock()
    let id = MessageID(high: 0x0190_0000_0000_7000, low: 0x8000_0000_0000_0001)

    init() throws {
        directory = try TemporaryDirectory()
        path = directory.path("inbox.db")
    }

    func openStore() async throws -> SQLiteStore {
        try await SQLiteStore.open(
            path: path, configuration: SQLiteStoreConfiguration(clock: clock, logger: .disabled))
    }

    // MARK: The IdempotencyStore contract

    @Test func contains_whenRecordedWithinTheWindow_isTrueUntilTheWindowEnds() async throws {
        let store = try await openStore()
        let inbox = SQLiteIdempotencyStore(store: store)
        try await inbox.record(id: id, group: "billing", now: .zero)

        let atOnce = try await inbox.contains(
            id: id, group: "billing", window: .seconds(60), now: .zero)
        let otherGroup = try await inbox.contains(
            id: id, group: "shipping", window: .seconds(60), now: .zero)
        clock.advance(by: .seconds(61))
        let afterWindow = try await inbox.contains(
            id: id, group: "billing", window: .seconds(60), now: .zero)
        await store.close()

        #expect(atOnce)
        #expect(!otherGroup)
        #expect(!afterWindow)
        directory.remove()
    }

    @Test func contains_whenStoreIsReopened_remembersTheId() async throws {
        let first = try await openStore()
        try await SQLiteIdempotencyStore(store: first).record(id: id, group: "billing", now: .zero)
        await first.close()

        let second = try await openStore()
        let seen = try await SQLiteIdempotencyStore(store: second).contains(
            id: id, group: "billing", window: .seconds(60), now: .zero)
        await second.close()

        #expect(seen)
        directory.remove()
    }

    @Test func expire_whenIdsAreOlderThanRetention_forgetsOnlyThose() async throws {
        let store = try await openStore()
        let inbox = SQLiteIdempotencyStore(store: store, retention: .seconds(100))
        let newer = MessageID(high: 0x0190_0000_0000_7000, low: 0x8000_0000_0000_0002)
        try await inbox.record(id: id, group: "billing", now: .zero)
        clock.advance(by: .seconds(60))
        try await inbox.record(id: newer, group: "billing", now: .zero)
        clock.advance(by: .seconds(60))

        let forgotten = try await inbox.expire()
        let count = try await inbox.count()
        await store.close()

        #expect(forgotten == 1)
        #expect(count == 1)
        directory.remove()
    }

    @Test func record_whenExpiryIntervalIsReached_expiresOnItsOwn() async throws {
        let store = try await openStore()
        let inbox = SQLiteIdempotencyStore(store: store, retention: .seconds(10), expiryInterval: 2)
        try await inbox.record(id: id, group: "billing", now: .zero)
        clock.advance(by: .seconds(20))

        try await inbox.record(
            id: MessageID(high: 1, low: 2), group: "billing", now: .zero)
        let count = try await inbox.count()
        await store.close()

        #expect(count == 1)
        directory.remove()
    }

    // MARK: Effectively-once through the bus

    @Test func duplicateDelivery_whenBusUsesTheInbox_runsTheHandlerOnce() async throws {
        let store = try await openStore()
        try await createOrdersTable(store)
        let bus = makeBus(store)
        let handled = HandledOrders()
        try await subscribeWritingOrders(
            bus, store, handled: handled, delivery: .effectivelyOnce(window: .seconds(3600)))
        let envelope = try bus.envelope(for: OrderPlaced(orderID: 7))

        try await bus.publish(envelope: envelope)
        try await bus.publish(envelope: envelope)
        let rows = try await orderRows(store)
        _ = await bus.shutdown(deadline: .seconds(1))
        await store.close()

        #expect(handled.orderIDs == [7])
        #expect(rows == [7])
        directory.remove()
    }

    @Test func redelivery_whenCrashCameAfterCommitBeforeTheBusRecord_isIgnored() async throws {
        // The first process commits the handler's unit of work (order row and inbox record)
        // and dies before the bus acknowledges: its subscription is at-least-once, so the
        // bus itself records nothing.
        let first = try await openStore()
        try await createOrdersTable(first)
        let firstBus = makeBus(first)
        let firstHandled = HandledOrders()
        try await subscribeWritingOrders(
            firstBus, first, handled: firstHandled, delivery: .atLeastOnce)
        let envelope = try firstBus.envelope(for: OrderPlaced(orderID: 9))
        try await firstBus.publish(envelope: envelope)
        _ = await firstBus.shutdown(deadline: .seconds(1))
        await first.close()

        // The restarted process receives the same message again.
        let second = try await openStore()
        let secondBus = makeBus(second)
        let secondHandled = HandledOrders()
        try await subscribeWritingOrders(
            secondBus, second, handled: secondHandled,
            delivery: .effectivelyOnce(window: .seconds(3600)))
        try await secondBus.publish(envelope: envelope)
        let rows = try await orderRows(second)
        _ = await secondBus.shutdown(deadline: .seconds(1))
        await second.close()

        #expect(firstHandled.orderIDs == [9])
        #expect(secondHandled.orderIDs == [])
        #expect(rows == [9])
        directory.remove()
    }

    @Test func unitOfWorkHandling_whenDuplicateReachesAnAtLeastOnceHandler_writesNothing()
        async throws
    {
        let store = try await openStore()
        try await createOrdersTable(store)
        let bus = makeBus(store)
        let handled = HandledOrders()
        try await subscribeWritingOrders(bus, store, handled: handled, delivery: .atLeastOnce)
        let envelope = try bus.envelope(for: OrderPlaced(orderID: 3))

        try await bus.publish(envelope: envelope)
        try await bus.publish(envelope: envelope)
        let rows = try await orderRows(store)
        _ = await bus.shutdown(deadline: .seconds(1))
        await store.close()

        // The handler ran twice but its unit of work took effect once.
        #expect(handled.orderIDs == [3])
        #expect(rows == [3])
        directory.remove()
    }

    // MARK: Fixtures

    func makeBus(_ store: SQLiteStore) -> Bus {
        Bus(
            configuration: BusConfiguration(
                idempotencyStore: SQLiteIdempotencyStore(store: store), logger: .disabled))
    }

    func createOrdersTable(_ store: SQLiteStore) async throws {
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        }
    }

    /// An inline subscription that writes the order in a unit of work recording the
    /// message; `handled` lists the orders whose unit of work actually ran.
    func subscribeWritingOrders(
        _ bus: Bus, _ store: SQLiteStore, handled: HandledOrders, delivery: DeliveryGuarantee
    ) async throws {
        try await bus.subscribe(
            to: OrderPlaced.self, group: "billing",
            options: SubscriptionOptions(dispatch: .inline, delivery: delivery)
        ) { event, context in
            let ran = try await store.unitOfWork(handling: context) { uow in
                try uow.execute(
                    "INSERT INTO orders (id) VALUES (?)", [.integer(Int64(event.orderID))])
            }
            if ran != nil { handled.append(event.orderID) }
        }
    }

    func orderRows(_ store: SQLiteStore) async throws -> [Int64] {
        try await store.unitOfWork { uow in
            try uow.query("SELECT id FROM orders ORDER BY id").compactMap { $0[0].integer }
        }
    }
}
