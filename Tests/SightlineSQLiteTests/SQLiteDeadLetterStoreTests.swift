import Foundation
import Sightline
import SightlineSQLite
import SightlineTestKit
import Testing

@Suite struct SQLiteDeadLetterStoreTests {
    let directory: TemporaryDirectory
    let path: String

    init() throws {
        directory = try TemporaryDirectory()
        path = directory.path("letters.db")
    }

    static func letter(
        _ number: UInt64, group: String = "billing", channel: String = "orders",
        reason: DeadLetterReason = .attemptsExhausted
    ) -> DeadLetter {
        let envelope = Envelope(
            id: MessageID(high: 0x0190_0000_0000_7000, low: 0x8000_0000_0000_0000 | number),
            messageType: "shop.OrderPlaced", channel: channel, partitionKey: "c-\(number)",
            createdAt: Date(timeIntervalSince1970: 1_700_000_000),
            headers: ["tenant": "t-1"],
            traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            payload: Data("{\"orderID\":\(number)}".utf8))
        return DeadLetter(
            envelope: envelope, group: group, reason: reason, errorDescription: "boom \(number)",
            attempts: 5, firstFailureAt: Date(timeIntervalSince1970: 1_700_000_010),
            lastFailureAt: Date(timeIntervalSince1970: 1_700_000_020),
            deadLetterTraceParent: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01")
    }

    @Test func add_whenReopened_listsTheSameLettersOldestFirst() async throws {
        let first = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: first)
        try await letters.add(Self.letter(1))
        try await letters.add(Self.letter(2, group: "shipping"))
        try await letters.add(Self.letter(3, reason: .invalidMessage))
        await first.close()

        let second = try await SQLiteStore.open(path: path)
        let reopened = SQLiteDeadLetterStore(store: second)
        let all = try await reopened.list(.all)
        let count = try await reopened.count()
        await second.close()

        #expect(
            all == [
                Self.letter(1), Self.letter(2, group: "shipping"),
                Self.letter(3, reason: .invalidMessage),
            ])
        #expect(count == 3)
        directory.remove()
    }

    @Test func list_whenFiltered_matchesLikeTheInMemoryStore() async throws {
        let store = try await SQLiteStore.open(path: path)
        let durable = SQLiteDeadLetterStore(store: store)
        let memory = InMemoryDeadLetterStore(logger: .disabled)
        let samples = [
            Self.letter(1), Self.letter(2, group: "shipping"),
            Self.letter(3, reason: .invalidMessage), Self.letter(4, channel: "credit"),
            Self.letter(5),
        ]
        for letter in samples {
            try await durable.add(letter)
            try await memory.add(letter)
        }
        let filters = [
            DeadLetterFilter.all, DeadLetterFilter(group: "billing"),
            DeadLetterFilter(channel: "credit"), DeadLetterFilter(reason: .invalidMessage),
            DeadLetterFilter(messageType: "shop.Other"),
            DeadLetterFilter(group: "billing", limit: 2),
        ]

        for filter in filters {
            let durableIDs = try await durable.list(filter).map(\.id)
            let memoryIDs = try await memory.list(filter).map(\.id)
            #expect(durableIDs == memoryIDs)
        }
        #expect(try await durable.list(DeadLetterFilter(group: "billing", limit: 2)).count == 2)
        await store.close()
        directory.remove()
    }

    @Test func add_whenLetterExists_replacesItInPlace() async throws {
        let store = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: store)
        try await letters.add(Self.letter(1))
        try await letters.add(Self.letter(2))
        var again = Self.letter(1)
        again.attempts = 9

        try await letters.add(again)
        let all = try await letters.list(.all)
        await store.close()

        #expect(all.map(\.attempts) == [9, 5])
        #expect(all.map(\.id) == [Self.letter(1).id, Self.letter(2).id])
        directory.remove()
    }

    @Test func remove_whenPresent_returnsTheLetterAndForgetsIt() async throws {
        let store = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: store)
        try await letters.add(Self.letter(1))
        try await letters.add(Self.letter(1, group: "shipping"))

        let removed = try await letters.remove(id: Self.letter(1).id, group: "billing")
        let missing = try await letters.remove(id: Self.letter(1).id, group: "billing")
        let left = try await letters.list(.all)
        await store.close()

        #expect(removed == Self.letter(1))
        #expect(missing == nil)
        #expect(left == [Self.letter(1, group: "shipping")])
        directory.remove()
    }

    @Test func redriveRequested_whenMarkedOffline_redrivesThroughTheBus() async throws {
        // An operator marks the letter with no bus running, as `sightline dlq redrive` does.
        let offline = try await SQLiteStore.open(path: path)
        let offlineLetters = SQLiteDeadLetterStore(store: offline)
        try await offlineLetters.add(Self.letter(1))
        try await offlineLetters.add(Self.letter(2))
        let marked = try await offlineLetters.requestRedrive(id: Self.letter(1).id)
        let entries = try await offlineLetters.entries(matching: .all)
        await offline.close()
        #expect(marked == 1)
        #expect(entries.map { $0.redriveRequestedAt != nil } == [true, false])

        // The service starts on the same store and carries the request out.
        let store = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: store)
        let bus = Bus(configuration: BusConfiguration(deadLetterStore: letters, logger: .disabled))
        let handled = HandledOrders()
        try await bus.subscribe(
            to: OrderPlaced.self, group: "billing",
            options: SubscriptionOptions(dispatch: .inline)
        ) { event, context in
            handled.append(event.orderID, attempt: context.attempt)
        }

        let outcome = try await letters.redriveRequested(using: bus)
        let left = try await letters.list(.all)
        _ = await bus.shutdown(deadline: .seconds(1))
        await store.close()

        #expect(outcome == RedriveOutcome(redriven: 1, failures: []))
        #expect(handled.values == [HandledOrders.Entry(orderID: 1, attempt: 1)])
        #expect(left.map(\.id) == [Self.letter(2).id])
        directory.remove()
    }

    @Test func redriveRequested_whenGroupIsGone_keepsTheMarkAndReportsIt() async throws {
        let store = try await SQLiteStore.open(path: path)
        let letters = SQLiteDeadLetterStore(store: store)
        try await letters.add(Self.letter(1, group: "retired"))
        try await letters.requestRedrive(matching: DeadLetterFilter(group: "retired"))
        let bus = Bus(configuration: BusConfiguration(deadLetterStore: letters, logger: .disabled))

        let outcome = try await letters.redriveRequested(using: bus)
        let entries = try await letters.entries(matching: .all)
        _ = await bus.shutdown(deadline: .seconds(1))
        await store.close()

        #expect(outcome.redriven == 0)
        #expect(outcome.failures.map(\.group) == ["retired"])
        #expect(entries.map { $0.redriveRequestedAt != nil } == [true])
        directory.remove()
    }
}
