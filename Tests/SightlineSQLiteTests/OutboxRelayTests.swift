import Foundation
import Sightline
import SightlineSQLite
import SightlineTestKit
import Synchronization
import Testing

/// A publisher that fails on chosen calls and records what it published.
final class FlakyPublisher: Sendable {
    private struct State {
        var calls = 0
        var published: [MessageID] = []
        var failOnCalls: Set<Int>
    }

    private let state: Mutex<State>

    /// - Parameter failOnCalls: 1-based numbers of the calls that throw.
    init(failOnCalls: Set<Int> = []) {
        state = Mutex(State(failOnCalls: failOnCalls))
    }

    var published: [MessageID] { state.withLock { $0.published } }
    var calls: Int { state.withLock { $0.calls } }

    func publish(_ envelope: Envelope, _ links: [SpanLink]) async throws {
        try state.withLock { state in
            state.calls += 1
            if state.failOnCalls.contains(state.calls) {
                throw TransportDown(call: state.calls)
            }
            state.published.append(envelope.id)
        }
    }
}

struct TransportDown: Error, Equatable {
    var call: Int
}

@Suite struct OutboxRelayTests {
    let directory: TemporaryDirectory
    let clock = ManualClock()

    init() throws {
        directory = try TemporaryDirectory()
    }

    func openStore(_ name: String = "outbox.db") async throws -> SQLiteStore {
        try await SQLiteStore.open(
            path: directory.path(name),
            configuration: SQLiteStoreConfiguration(clock: clock, logger: .disabled))
    }

    static func envelope(_ number: Int) -> Envelope {
        Envelope(
            id: MessageID(
                high: 0x0190_0000_0000_7000, low: 0x8000_0000_0000_0000 | UInt64(number)),
            messageType: OrderPlaced.messageType, channel: OrderPlaced.channel,
            payload: Data("{\"orderID\":\(number)}".utf8))
    }

    func relay(
        _ store: SQLiteStore, _ publisher: FlakyPublisher, metrics: OutboxMetrics? = nil
    ) -> OutboxRelay {
        OutboxRelay(
            store: store, metrics: metrics,
            configuration: OutboxRelayConfiguration(
                batchSize: 2, pollInterval: .seconds(10), clock: clock, logger: .disabled),
            publisher: publisher.publish)
    }

    // MARK: Staging

    @Test func unitOfWork_whenItFailsBeforeCommit_stagesNothing() async throws {
        let store = try await openStore()
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        }
        let publisher = FlakyPublisher()
        let relay = relay(store, publisher)

        await #expect(throws: TransportDown.self) {
            try await store.unitOfWork { uow in
                try uow.execute("INSERT INTO orders VALUES (1)")
                try uow.stage(Self.envelope(1))
                throw TransportDown(call: 0)
            }
        }
        let published = try await relay.publishPending()
        let pending = try await relay.pending()
        await store.close()

        #expect(published == 0)
        #expect(pending.count == 0)
        #expect(publisher.calls == 0)
        directory.remove()
    }

    @Test func stage_whenMessageIDWasAlreadyStaged_rollsBackTheUnitOfWork() async throws {
        let store = try await openStore()
        try await store.unitOfWork { uow in try uow.stage(Self.envelope(1)) }

        let error = await #expect(throws: SQLiteStoreError.self) {
            try await store.unitOfWork { uow in
                try uow.stage(Self.envelope(2))
                try uow.stage(Self.envelope(1))
            }
        }
        let pending = try await relay(store, FlakyPublisher()).pending()
        await store.close()

        #expect(error?.code == .statementFailed)
        #expect(pending.count == 1)
        directory.remove()
    }

    // MARK: Relaying

    @Test func publishPending_whenTransportFailsInBetween_publishesEachOnceInOrder()
        async throws
    {
        let store = try await openStore()
        try await store.unitOfWork { uow in
            for number in 1...3 { try uow.stage(Self.envelope(number)) }
        }
        try await store.unitOfWork { uow in
            for number in 4...5 { try uow.stage(Self.envelope(number)) }
        }
        // Calls 3, 5 and 6 fail: message 3 fails once, then message 4 twice.
        let publisher = FlakyPublisher(failOnCalls: [3, 5, 6])
        let relay = relay(store, publisher)

        var outcomes: [String] = []
        for _ in 0..<6 {
            do {
                outcomes.append("published \(try await relay.publishPending())")
            } catch let error as TransportDown {
                outcomes.append("failed at call \(error.call)")
            }
        }
        let pending = try await relay.pending()
        await store.close()

        #expect(
            outcomes == [
                "failed at call 3", "failed at call 5", "failed at call 6", "published 2",
                "published 0", "published 0",
            ])
        #expect(publisher.published == (1...5).map { Self.envelope($0).id })
        #expect(pending.count == 0)
        directory.remove()
    }

    @Test func publishPending_whenStoreIsReopened_publishesWhatTheLastProcessLeft() async throws {
        let first = try await openStore()
        try await first.unitOfWork { uow in
            for number in 1...3 { try uow.stage(Self.envelope(number)) }
        }
        let before = FlakyPublisher(failOnCalls: [2])
        _ = try? await relay(first, before).publishPending()
        await first.close()

        let second = try await openStore()
        let after = FlakyPublisher()
        let published = try await relay(second, after).publishPending()
        await second.close()

        #expect(before.published == [Self.envelope(1).id])
        #expect(after.published == [Self.envelope(2).id, Self.envelope(3).id])
        #expect(published == 2)
        directory.remove()
    }

    @Test func run_whenPublishingFails_retriesWithDoublingBackoff() async throws {
        let store = try await openStore()
        try await store.unitOfWork { uow in try uow.stage(Self.envelope(1)) }
        let publisher = FlakyPublisher(failOnCalls: [1, 2])
        let relay = relay(store, publisher)

        relay.start()
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(100))
        #expect(await waitUntil { clock.requestedSleeps.count >= 2 })
        #expect(await clock.waitForSleepers(count: 1))
        clock.advance(by: .milliseconds(200))
        #expect(await waitUntil { publisher.published.count == 1 })
        await relay.stop()
        await store.close()

        #expect(Array(clock.requestedSleeps.prefix(2)) == [.milliseconds(100), .milliseconds(200)])
        #expect(publisher.published == [Self.envelope(1).id])
        #expect(publisher.calls == 3)
        directory.remove()
    }

    @Test func run_whenAUnitOfWorkCommits_publishesWithoutWaitingForThePoll() async throws {
        let store = try await openStore()
        let publisher = FlakyPublisher()
        let relay = relay(store, publisher)
        relay.start()
        #expect(await clock.waitForSleepers(count: 1))

        try await store.unitOfWork { uow in try uow.stage(Self.envelope(1)) }
        let published = await waitUntil { publisher.published.count == 1 }
        await relay.stop()
        await store.close()

        #expect(published)
        #expect(publisher.published == [Self.envelope(1).id])
        directory.remove()
    }

    // MARK: Metrics

    @Test func metrics_afterPassesWithAFailure_showDepthAgeAndCounts() async throws {
        let store = try await openStore()
        let registry = MetricsRegistry()
        let metrics = try OutboxMetrics(registry: registry, clock: clock)
        try await store.unitOfWork { uow in
            for number in 1...3 { try uow.stage(Self.envelope(number)) }
        }
        let relay = relay(store, FlakyPublisher(failOnCalls: [2]), metrics: metrics)

        _ = try? await relay.publishPending()
        clock.advance(by: .seconds(5))
        let afterFailure = Self.values(registry)
        _ = try await relay.publishPending()
        let afterSuccess = Self.values(registry)
        await store.close()

        #expect(
            afterFailure == [
                "sightline_outbox_depth": 2, "sightline_outbox_oldest_unsent_age_seconds": 5,
                "sightline_outbox_published_total": 1,
                "sightline_outbox_publish_failures_total": 1,
            ])
        #expect(
            afterSuccess == [
                "sightline_outbox_depth": 0, "sightline_outbox_oldest_unsent_age_seconds": 0,
                "sightline_outbox_published_total": 3,
                "sightline_outbox_publish_failures_total": 1,
            ])
        directory.remove()
    }

    static func values(_ registry: MetricsRegistry) -> [String: Double] {
        var values: [String: Double] = [:]
        for family in registry.collect() where family.name.hasPrefix("sightline_outbox") {
            for series in family.series {
                switch series.value {
                case .scalar(let value): values[family.name] = value
                case .histogram: break
                }
            }
        }
        return values
    }

    // MARK: Through a bus, with tracing

    @Test func relay_throughABus_deliversInOrderAndLinksThePublishSpanToStaging()
        async throws
    {
        let store = try await openStore()
        let exporter = InMemorySpanExporter()
        let tracer = Tracer(
            configuration: TracingConfiguration(), exporter: exporter, logger: .disabled)
        let bus = Bus(configuration: BusConfiguration(logger: .disabled, tracer: tracer))
        let handled = HandledOrders()
        try await bus.subscribe(to: OrderPlaced.self, group: "shipping") { event, _ in
            handled.append(event.orderID)
        }
        let relay = OutboxRelay(
            store: store, bus: bus,
            configuration: OutboxRelayConfiguration(clock: clock, logger: .disabled))

        let staging = tracer.startSpan("place order", parent: nil)
        try await TracingContext.$current.withValue(staging.context) {
            let first = try bus.envelope(for: OrderPlaced(orderID: 1))
            let second = try bus.envelope(for: OrderPlaced(orderID: 2))
            try await store.unitOfWork { uow in
                try uow.stage(first)
                try uow.stage(second)
            }
        }
        staging.end()
        let published = try await relay.publishPending()
        _ = await bus.shutdown(deadline: .seconds(5))
        await tracer.forceFlush(deadline: .now + .seconds(5))
        await store.close()

        let publishSpans = exporter.spans(named: "publish orders")
        #expect(published == 2)
        #expect(handled.orderIDs == [1, 2])
        #expect(publishSpans.count == 2)
        for span in publishSpans {
            #expect(span.context.traceID == staging.context.traceID)
            #expect(span.parentSpanID == staging.context.spanID)
            #expect(span.links.map(\.context.spanID) == [staging.context.spanID])
            #expect(
                span.links.first?.attributes["sightline.link.reason"] == .string("outbox_staged"))
        }
        directory.remove()
    }
}

/// Polls `condition` (yielding in between) up to a bound; for waits on other tasks' work
/// that no clock drives.
func waitUntil(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<20_000 {
        if condition() { return true }
        try? await Task.sleep(for: .microseconds(100))
    }
    return condition()
}
