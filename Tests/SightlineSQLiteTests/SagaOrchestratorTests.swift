import Foundation
import Sightline
import SightlineSQLite
import SightlineTestKit
import Testing

@Suite struct SagaOrchestratorTests {
    /// What the participant of step C answers.
    enum CBehaviour: Sendable {
        case complete
        case fail
        case silent
    }

    /// One process: a store, a bus whose participants handle inline, the relay and the
    /// orchestrator.
    struct Service {
        let store: SQLiteStore
        let bus: Bus
        let relay: OutboxRelay
        let orchestrator: SagaOrchestrator<SagaOrder>
        let registry: MetricsRegistry

        func close() async {
            _ = await bus.shutdown(deadline: .seconds(1))
            await store.close()
        }

        /// Publishes staged messages until none is left; the inline handlers run inside.
        func drain() async throws {
            while try await relay.publishPending() > 0 {}
        }
    }

    let directory: TemporaryDirectory
    let clock = ManualClock()
    let log = CommandLog()

    init() throws {
        directory = try TemporaryDirectory()
    }

    static let definition = SagaDefinition<SagaOrder>(
        name: "order",
        steps: [
            SagaStep(
                name: "a", command: { DoA(orderID: $0.orderID) }, completedBy: [ADone.self],
                timeout: .seconds(30), compensation: { UndoA(orderID: $0.orderID) }),
            SagaStep(
                name: "b", command: { DoB(orderID: $0.orderID) }, completedBy: [BDone.self],
                timeout: .seconds(30), compensation: { UndoB(orderID: $0.orderID) }),
            SagaStep(
                name: "c", command: { DoC(orderID: $0.orderID) }, completedBy: [CDone.self],
                failedBy: [CFailed.self], timeout: .seconds(30)),
        ])

    func makeService(c: CBehaviour) async throws -> Service {
        let store = try await SQLiteStore.open(
            path: directory.path("saga.db"),
            configuration: SQLiteStoreConfiguration(clock: clock, logger: .disabled))
        let registry = MetricsRegistry()
        let bus = Bus(configuration: BusConfiguration(clock: clock, logger: .disabled))
        let inline = SubscriptionOptions(dispatch: .inline)
        let log = log
        try await bus.handle(DoA.self, options: inline) { command, _ in
            log.append(DoA.messageType)
            try await bus.publish(ADone(orderID: command.orderID))
        }
        try await bus.handle(DoB.self, options: inline) { command, _ in
            log.append(DoB.messageType)
            try await bus.publish(BDone(orderID: command.orderID))
        }
        try await bus.handle(DoC.self, options: inline) { command, _ in
            log.append(DoC.messageType)
            switch c {
            case .complete: try await bus.publish(CDone(orderID: command.orderID))
            case .fail: try await bus.publish(CFailed(orderID: command.orderID))
            case .silent: break
            }
        }
        try await bus.handle(UndoA.self, options: inline) { _, _ in log.append(UndoA.messageType) }
        try await bus.handle(UndoB.self, options: inline) { _, _ in log.append(UndoB.messageType) }

        let orchestrator = SagaOrchestrator(
            definition: Self.definition, store: store, bus: bus,
            metrics: try SagaMetrics(registry: registry), clock: clock, logger: .disabled)
        try await orchestrator.register(options: inline)
        let relay = OutboxRelay(
            store: store, bus: bus,
            configuration: OutboxRelayConfiguration(clock: clock, logger: .disabled))
        return Service(
            store: store, bus: bus, relay: relay, orchestrator: orchestrator, registry: registry)
    }

    static func counter(_ registry: MetricsRegistry, _ name: String) -> Double {
        for family in registry.collect() where family.name == name {
            for series in family.series {
                if case .scalar(let value) = series.value { return value }
            }
        }
        return 0
    }

    // MARK: Outcomes

    @Test func start_whenEveryStepCompletes_runsEachStepOnceAndCompletes() async throws {
        let service = try await makeService(c: .complete)

        let started = try await service.orchestrator.start(
            id: "order-1", data: SagaOrder(orderID: 1))
        try await service.drain()
        let instance = try await service.orchestrator.instance("order-1")
        await service.close()

        #expect(started)
        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC"])
        #expect(instance?.status == .completed)
        #expect(Self.counter(service.registry, "sightline_sagas_started_total") == 1)
        #expect(Self.counter(service.registry, "sightline_sagas_completed_total") == 1)
        directory.remove()
    }

    @Test func stepFailure_compensatesTheCompletedStepsInReverseOrder() async throws {
        let service = try await makeService(c: .fail)

        try await service.orchestrator.start(id: "order-2", data: SagaOrder(orderID: 2))
        try await service.drain()
        let instance = try await service.orchestrator.instance("order-2")
        await service.close()

        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC", "test.UndoB", "test.UndoA"])
        #expect(
            instance
                == SagaInstance(
                    id: "order-2", saga: "order", step: 2, status: .compensated,
                    reason: "step c failed"))
        #expect(Self.counter(service.registry, "sightline_sagas_compensated_total") == 1)
        directory.remove()
    }

    @Test func timeout_whenAStepNeverAnswers_compensatesAndIgnoresALateAnswer() async throws {
        let service = try await makeService(c: .silent)
        try await service.orchestrator.start(id: "order-3", data: SagaOrder(orderID: 3))
        try await service.drain()

        let early = try await service.orchestrator.checkTimeouts()
        clock.advance(by: .seconds(31))
        let due = try await service.orchestrator.checkTimeouts()
        try await service.drain()
        var late = try service.bus.envelope(for: CDone(orderID: 3))
        late.correlationID = "order-3"
        try await service.bus.publish(envelope: late)
        try await service.drain()
        let instance = try await service.orchestrator.instance("order-3")
        await service.close()

        #expect(early == 0)
        #expect(due == 1)
        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC", "test.UndoB", "test.UndoA"])
        #expect(instance?.status == .compensated)
        #expect(instance?.reason == "step c timed out")
        #expect(Self.counter(service.registry, "sightline_sagas_timed_out_total") == 1)
        directory.remove()
    }

    // MARK: Never twice

    @Test func start_whenCalledTwiceWithOneID_startsOnce() async throws {
        let service = try await makeService(c: .complete)

        let first = try await service.orchestrator.start(id: "order-4", data: SagaOrder(orderID: 4))
        let second = try await service.orchestrator.start(
            id: "order-4", data: SagaOrder(orderID: 4))
        try await service.drain()
        await service.close()

        #expect(first)
        #expect(!second)
        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC"])
        directory.remove()
    }

    @Test func duplicateAnswer_whenDeliveredAgain_doesNotRunTheNextStepTwice() async throws {
        let service = try await makeService(c: .silent)
        // Step A's answer is published by hand twice, as a redelivery would.
        try await service.orchestrator.start(id: "order-5", data: SagaOrder(orderID: 5))
        var answer = try service.bus.envelope(for: ADone(orderID: 5))
        answer.correlationID = "order-5"

        try await service.bus.publish(envelope: answer)
        try await service.bus.publish(envelope: answer)
        try await service.drain()
        let instance = try await service.orchestrator.instance("order-5")
        await service.close()

        // DoA's own answer arrives too (a third copy of "A done", with another id).
        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC"])
        #expect(instance?.step == 2)
        directory.remove()
    }

    @Test func restart_whenTheProcessStopsMidSaga_resumesFromTheStoredState() async throws {
        let first = try await makeService(c: .complete)
        try await first.orchestrator.start(id: "order-6", data: SagaOrder(orderID: 6))
        // One round only: DoA runs, its answer stages DoB, and the process stops.
        _ = try await first.relay.publishPending()
        let midway = try await first.orchestrator.instance("order-6")
        await first.close()

        let second = try await makeService(c: .complete)
        try await second.drain()
        let instance = try await second.orchestrator.instance("order-6")
        await second.close()

        #expect(midway?.status == .running)
        #expect(log.types == ["test.DoA", "test.DoB", "test.DoC"])
        #expect(instance?.status == .completed)
        directory.remove()
    }
}
