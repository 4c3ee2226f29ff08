import Foundation
import Sightline
import SightlineTestKit
import Synchronization
import Testing

@Suite struct OrderingAndCapacityTests {
    @Test func perKeyOrder_withConcurrency8AndSeededFailures_holdsForEveryKey() async throws {
        let bus = Bus(
            configuration: BusConfiguration(logger: .disabled, randomSeed: 11))
        let handled = Recorder<OrderPlaced>()
        let failures = Mutex(SplitMix64(seed: 2024))
        let retried = Atomic<Int>(0)
        let policy = RetryPolicy(
            maximumAttempts: 50, baseDelay: .microseconds(50), maximumDelay: .milliseconds(1))
        try await bus.subscribe(
            to: OrderPlaced.self, group: "billing",
            options: SubscriptionOptions(concurrency: 8, capacity: 64, retry: policy)
        ) { event, context in
            if context.attempt > 1 { retried.add(1, ordering: .relaxed) }
            let fail = failures.withLock { $0.nextUnit() < 0.2 }
            if fail { throw TransientError() }
            await handled.append(event)
        }

        let customers = (0..<10).map { "customer-\($0)" }
        var sequence = [String: Int]()
        for index in 0..<400 {
            let customer = customers[index * 7 % customers.count]
            sequence[customer, default: 0] += 1
            try await bus.publish(
                OrderPlaced(orderID: sequence[customer]!, customer: customer, amount: 1))
        }
        let report = await bus.shutdown(deadline: .seconds(30))

        #expect(report.drained)
        #expect(retried.load(ordering: .relaxed) > 0)
        let values = await handled.values
        #expect(values.count == 400)
        for customer in customers {
            let orders = values.filter { $0.customer == customer }.map(\.orderID)
            #expect(orders == Array(1...40), "order of \(customer)")
        }
    }

    @Test func retryingKey_holdsBackItsKeyButNotOthers() async throws {
        let clock = ManualClock()
        let bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled))
        let handled = Recorder<String>()
        let policy = RetryPolicy(
            maximumAttempts: 3, baseDelay: .seconds(1), maximumDelay: .seconds(1))
        try await bus.subscribe(
            to: OrderPlaced.self, group: "g",
            options: SubscriptionOptions(concurrency: 2, retry: policy)
        ) { event, context in
            if event.customer == "a" && event.orderID == 1 && context.attempt == 1 {
                throw TransientError()
            }
            await handled.append("\(event.customer)\(event.orderID)")
        }

        try await bus.publish(OrderPlaced(orderID: 1, customer: "a", amount: 1))
        try await bus.publish(OrderPlaced(orderID: 2, customer: "a", amount: 1))
        try await bus.publish(OrderPlaced(orderID: 1, customer: "b", amount: 1))
        #expect(await eventually { await handled.values.contains("b1") })
        #expect(await clock.waitForSleepers(count: 1))
        #expect(await handled.values == ["b1"])

        clock.advance(by: .seconds(1))
        #expect(await eventually { await handled.count == 3 })
        #expect(await handled.values == ["b1", "a1", "a2"])
    }

    @Test func fullQueue_withFailFast_throwsQueueFull() async throws {
        let bus = Bus(configuration: BusConfiguration(logger: .disabled))
        let gate = Gate()
        try await bus.handle(
            ChargeCard.self, options: SubscriptionOptions(concurrency: 1, capacity: 2)
        ) { _, _ in
            await gate.wait()
        }

        try await bus.send(ChargeCard(orderID: 1), options: PublishOptions(whenFull: .fail))
        try await bus.send(ChargeCard(orderID: 2), options: PublishOptions(whenFull: .fail))
        let error = await #expect(throws: BusError.self) {
            try await bus.send(ChargeCard(orderID: 3), options: PublishOptions(whenFull: .fail))
        }

        #expect(error?.code == .queueFull)
        #expect(error?.isRetryable == true)
        #expect(bus.lagReports().values.first?.waiting == 2)
        await gate.open()
    }

    @Test func fullQueue_withWait_resumesWhenRoomFrees() async throws {
        let bus = Bus(configuration: BusConfiguration(logger: .disabled))
        let gate = Gate()
        let handled = Recorder<Int>()
        try await bus.handle(
            ChargeCard.self, options: SubscriptionOptions(concurrency: 1, capacity: 1)
        ) { command, _ in
            await gate.wait()
            await handled.append(command.orderID)
        }
        try await bus.send(ChargeCard(orderID: 1))

        let blocked = Task { try await bus.send(ChargeCard(orderID: 2)) }
        for _ in 0..<1000 { await Task.yield() }
        #expect(await handled.count == 0)
        await gate.open()
        try await blocked.value
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await handled.values == [1, 2])
    }

    @Test func fullQueue_withWaitTimeout_failsOnTheInjectedClock() async throws {
        let clock = ManualClock()
        let bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled))
        let gate = Gate()
        try await bus.handle(
            ChargeCard.self, options: SubscriptionOptions(concurrency: 1, capacity: 1)
        ) { _, _ in
            await gate.wait()
        }
        try await bus.send(ChargeCard(orderID: 1))

        let blocked = Task {
            try await bus.send(
                ChargeCard(orderID: 2),
                options: PublishOptions(whenFull: .wait(timeout: .seconds(2))))
        }
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .seconds(2))

        let error = await #expect(throws: BusError.self) { try await blocked.value }
        #expect(error?.code == .queueFull)
        await gate.open()
    }

    @Test func shutdown_drainsQueuedWorkAndRefusesNewWork() async throws {
        let bus = Bus(configuration: BusConfiguration(logger: .disabled))
        let handled = Recorder<Int>()
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(capacity: 100)) {
            command, _ in
            await handled.append(command.orderID)
        }
        for orderID in 1...50 {
            try await bus.send(ChargeCard(orderID: orderID))
        }

        let report = await bus.shutdown(deadline: .seconds(10))

        #expect(report.drained)
        #expect(report.unfinishedCount == 0)
        #expect(await handled.count == 50)
        let error = await #expect(throws: BusError.self) {
            try await bus.send(ChargeCard(orderID: 51))
        }
        #expect(error?.code == .shuttingDown)
    }

    @Test func shutdown_afterDeadline_reportsUnfinishedWork() async throws {
        let clock = ManualClock()
        let bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled))
        let gate = Gate()
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(capacity: 10)) {
            _, _ in
            await gate.wait()
        }
        for orderID in 1...3 {
            try await bus.send(ChargeCard(orderID: orderID))
        }

        let shutdown = Task { await bus.shutdown(deadline: .seconds(1)) }
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .seconds(1))
        let report = await shutdown.value

        #expect(!report.drained)
        #expect(report.unfinished == [GroupKey(channel: "test.ChargeCard", group: "handler"): 3])
        await gate.open()
    }
}

/// A one-way gate: `wait` suspends until `open` is called.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
