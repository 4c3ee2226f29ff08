import Foundation
import Sightline
import SightlineTestKit
import Synchronization
import Testing

@Suite struct DeliveryTests {
    let clock = ManualClock()
    let bus: Bus

    init() {
        bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled, randomSeed: 7))
    }

    @Test func retry_whenHandlerFailsTwice_succeedsOnThirdAttemptWithBoundedDelays()
        async throws
    {
        let attempts = Recorder<Int>()
        let policy = RetryPolicy(
            maximumAttempts: 5, baseDelay: .milliseconds(100), maximumDelay: .seconds(1))
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(retry: policy)) {
            _, context in
            await attempts.append(context.attempt)
            if context.attempt < 3 { throw TransientError() }
        }

        try await bus.send(ChargeCard(orderID: 1))
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(100))
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(200))
        #expect(await eventually { await attempts.count == 3 })

        #expect(await attempts.values == [1, 2, 3])
        let delays = clock.requestedSleeps
        #expect(delays.count == 2)
        #expect(delays[0] >= .zero && delays[0] <= .milliseconds(100))
        #expect(delays[1] >= .zero && delays[1] <= .milliseconds(200))
        #expect(try await bus.deadLetters().isEmpty)
    }

    @Test func retryPolicy_delayCeiling_doublesUpToTheCap() {
        let policy = RetryPolicy(
            maximumAttempts: 10, baseDelay: .milliseconds(100), maximumDelay: .milliseconds(700))

        let ceilings = (1...5).map { policy.delayCeiling(afterAttempt: $0) }

        #expect(
            ceilings == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(700),
                .milliseconds(700),
            ])
        #expect(policy.delay(afterAttempt: 3, unit: 0.5) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 3, unit: 0) == .zero)
    }

    @Test func deadLetter_afterLastAttempt_keepsEnvelopeReasonAndTimes() async throws {
        let policy = RetryPolicy(maximumAttempts: 2, baseDelay: .zero, maximumDelay: .zero)
        try await bus.handle(ChargeCard.self, group: "billing", options: .init(retry: policy)) {
            _, _ in
            throw TransientError()
        }

        try await bus.send(
            ChargeCard(orderID: 9), options: PublishOptions(headers: ["tenant": "acme"]))
        #expect(await eventually { (try? await self.bus.deadLetters().count) == 1 })

        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.reason == .attemptsExhausted)
        #expect(letter.attempts == 2)
        #expect(letter.group == "billing")
        #expect(letter.envelope.headers == ["tenant": "acme"])
        #expect(letter.errorDescription.contains("TransientError"))
        #expect(letter.firstFailureAt <= letter.lastFailureAt)
    }

    @Test func deadLetter_withInvalidMessage_isNotRetried() async throws {
        let calls = Recorder<Int>()
        try await bus.subscribe(to: OrderPlaced.self, group: "shipping") { event, _ in
            await calls.append(event.orderID)
        }

        try await bus.publish(OrderPlaced(orderID: 3, customer: "c", amount: 0))
        #expect(await eventually { (try? await self.bus.deadLetters().count) == 1 })

        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.reason == .invalidMessage)
        #expect(letter.attempts == 1)
        #expect(letter.errorDescription == "invalid message: amount must be positive")
        #expect(await calls.count == 0)
    }

    @Test func redrive_afterFix_handlesWithFreshAttemptAndSameID() async throws {
        let healthy = Atomic<Bool>(false)
        let handled = Recorder<Envelope>()
        try await bus.handle(ChargeCard.self, options: .init(retry: .none)) { _, context in
            guard healthy.load(ordering: .relaxed) else { throw PermanentError(TransientError()) }
            await handled.append(context.envelope)
        }
        try await bus.send(ChargeCard(orderID: 5))
        #expect(await eventually { (try? await self.bus.deadLetters().count) == 1 })
        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.reason == .permanentFailure)

        healthy.store(true, ordering: .relaxed)
        let redriven = try await bus.redrive(matching: DeadLetterFilter(reason: .permanentFailure))
        #expect(redriven == 1)
        #expect(await eventually { await handled.count == 1 })

        let envelope = try #require(await handled.values.first)
        #expect(envelope.id == letter.id)
        #expect(envelope.attempt == 1)
        #expect(try await bus.deadLetters().isEmpty)
    }

    @Test func redrive_linksToTheDeadLetteredTraceContext() throws {
        let envelope = Envelope(
            messageType: "t", channel: "c",
            traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            payload: Data())
        let letter = DeadLetter(
            envelope: envelope, group: "g", reason: .attemptsExhausted, errorDescription: "e",
            attempts: 3, firstFailureAt: Date(), lastFailureAt: Date(),
            deadLetterTraceParent: envelope.traceParent)

        let link = try #require(Bus.redriveLinkForTesting(letter))

        #expect(link.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(link.spanID.hex == "00f067aa0ba902b7")
        #expect(link.attributes["sightline.link.reason"] == "redrive")
    }

    @Test func effectivelyOnce_withDuplicateInsideWindow_handlesOnce() async throws {
        let handled = Recorder<Int>()
        let options = SubscriptionOptions(delivery: .effectivelyOnce(window: .seconds(60)))
        try await bus.handle(ChargeCard.self, options: options) { command, _ in
            await handled.append(command.orderID)
        }
        let id = MessageID.make()
        let envelope = Envelope(
            id: id, messageType: ChargeCard.messageType, channel: ChargeCard.channel,
            payload: try JSONEncoder().encode(ChargeCard(orderID: 1)))

        try await bus.deliverForTesting(envelope)
        #expect(await eventually { await handled.count == 1 })
        // The id is recorded after the handler returns; settled means recorded.
        await bus.transportForTesting.waitUntilIdle()
        try await bus.deliverForTesting(envelope)
        clock.advance(by: .seconds(30))
        try await bus.deliverForTesting(envelope)
        _ = await bus.shutdown(deadline: .seconds(5))

        #expect(await handled.values == [1])
    }

    @Test func effectivelyOnce_afterWindow_handlesAgain() async throws {
        let handled = Recorder<Int>()
        let options = SubscriptionOptions(delivery: .effectivelyOnce(window: .seconds(60)))
        try await bus.handle(ChargeCard.self, options: options) { command, _ in
            await handled.append(command.orderID)
        }
        let envelope = Envelope(
            messageType: ChargeCard.messageType, channel: ChargeCard.channel,
            payload: try JSONEncoder().encode(ChargeCard(orderID: 1)))

        try await bus.deliverForTesting(envelope)
        #expect(await eventually { await handled.count == 1 })
        // The id is recorded after the handler returns, at the clock's time then.
        await bus.transportForTesting.waitUntilIdle()
        clock.advance(by: .seconds(61))
        try await bus.deliverForTesting(envelope)
        #expect(await eventually { await handled.count == 2 })
    }

    @Test func idempotencyStore_whenFull_evictsAndSaysSo() async throws {
        let sink = CollectingLogSink()
        let store = InMemoryIdempotencyStore(capacity: 2, logger: Logger(sink: sink))

        for _ in 0..<3 {
            try await store.record(id: MessageID.make(), group: "g", now: .zero)
        }

        #expect(store.earlyEvictionCount == 1)
        #expect(sink.collected.map(\.level) == [.warning])
    }

    @Test func idempotencyStore_forgetsIdsOlderThanTheLongestWindowAskedAbout() async throws {
        let sink = CollectingLogSink()
        let store = InMemoryIdempotencyStore(capacity: 2, logger: Logger(sink: sink))
        let first = MessageID.make()
        #expect(!(try await store.contains(id: first, group: "g", window: .seconds(2), now: .zero)))
        try await store.record(id: first, group: "g", now: .zero)

        // Past the window, new ids push out expired ones rather than live ones.
        for second in stride(from: 3, to: 30, by: 3) {
            try await store.record(id: MessageID.make(), group: "g", now: .seconds(second))
        }

        #expect(store.earlyEvictionCount == 0)
        #expect(sink.collected.isEmpty)
        #expect(
            !(try await store.contains(
                id: first, group: "g", window: .seconds(3600), now: .seconds(30))))
    }
}

extension Bus {
    /// Enqueues a prepared envelope as a transport redelivery would, for duplicate tests.
    fileprivate func deliverForTesting(_ envelope: Envelope) async throws {
        try await transportForTesting.enqueue(
            envelope, to: [GroupKey(channel: envelope.channel, group: "handler")], whenFull: .fail)
    }
}
