import Foundation
import Sightline
import SightlineTestKit
import Testing

@Suite struct BusTracingTests {
    let exporter = InMemorySpanExporter()
    let tracer: Tracer
    let bus: Bus

    init() {
        var configuration = TracingConfiguration()
        configuration.serviceName = "tracing-tests"
        tracer = Tracer(configuration: configuration, exporter: exporter, logger: .disabled)
        bus = Bus(
            configuration: BusConfiguration(logger: .disabled, randomSeed: 3, tracer: tracer))
    }

    private func finishedSpans() async -> [SpanData] {
        _ = await bus.shutdown(deadline: .seconds(10))
        await tracer.forceFlush(deadline: .now + .seconds(10))
        return exporter.spans
    }

    @Test func publishProcessAndNestedSend_formOneTrace() async throws {
        try await bus.subscribe(to: OrderPlaced.self, group: "billing") { event, _ in
            try await self.bus.send(ChargeCard(orderID: event.orderID))
        }
        try await bus.handle(ChargeCard.self, group: "payments") { _, _ in }

        try await bus.publish(OrderPlaced(orderID: 1, customer: "c", amount: 5))
        let spans = await finishedSpans()

        let publish = try #require(spans.first { $0.name == "publish orders" })
        let process = try #require(spans.first { $0.name == "process orders" })
        let send = try #require(spans.first { $0.name == "send test.ChargeCard" })
        let charge = try #require(spans.first { $0.name == "process test.ChargeCard" })
        #expect(spans.count == 4)
        #expect(Set(spans.map(\.context.traceID)).count == 1)
        #expect(publish.parentSpanID == nil)
        #expect(publish.kind == .producer)
        #expect(process.kind == .consumer)
        #expect(process.parentSpanID == publish.context.spanID)
        #expect(process.links.map(\.context.spanID) == [publish.context.spanID])
        #expect(send.parentSpanID == process.context.spanID)
        #expect(charge.parentSpanID == send.context.spanID)
        #expect(process.attributes["messaging.system"] == .string("sightline"))
        #expect(process.attributes["messaging.operation.type"] == .string("process"))
        #expect(process.attributes["messaging.consumer.group.name"] == .string("billing"))
        #expect(process.attributes["messaging.destination.name"] == .string("orders"))
        #expect(process.attributes["sightline.attempt"] == .int(1))
        #expect(publish.attributes["messaging.operation.name"] == .string("publish"))
        #expect(publish.attributes["messaging.batch.message_count"] == nil)
        #expect(
            publish.attributes["messaging.message.id"] == process.attributes["messaging.message.id"]
        )
    }

    @Test func retriesAndDeadLetter_eachAttemptIsASpanAndTheLastHasTheEvent() async throws {
        let policy = RetryPolicy(maximumAttempts: 3, baseDelay: .zero, maximumDelay: .zero)
        try await bus.handle(ChargeCard.self, options: SubscriptionOptions(retry: policy)) {
            _, _ in
            throw TransientError()
        }

        try await bus.send(ChargeCard(orderID: 2))
        #expect(await eventually { (try? await self.bus.deadLetters().count) == 1 })
        let spans = await finishedSpans()

        let attempts = spans.filter { $0.name == "process test.ChargeCard" }
            .sorted { $0.startTimeUnixNano < $1.startTimeUnixNano }
        #expect(attempts.map { $0.attributes["sightline.attempt"] } == [.int(1), .int(2), .int(3)])
        #expect(attempts.allSatisfy { $0.attributes["error.type"] == .string("TransientError") })
        #expect(
            attempts.allSatisfy {
                if case .error = $0.status { return true } else { return false }
            })
        #expect(attempts[0].events.map(\.name) == ["sightline.retry_scheduled"])
        #expect(attempts[2].events.map(\.name) == ["sightline.dead_lettered"])
        #expect(
            attempts[2].events.first?.attributes["sightline.dead_letter.reason"]
                == .string("attempts_exhausted"))
        let letter = try #require(try await bus.deadLetters().first)
        #expect(letter.deadLetterTraceParent?.contains(attempts[2].context.spanID.hex) == true)
    }

    @Test func invalidIncomingTraceParent_startsANewRootAndIsNotPropagated() async throws {
        let seen = Recorder<Envelope>()
        try await bus.handle(ChargeCard.self) { _, context in
            await seen.append(context.envelope)
        }
        let envelope = Envelope(
            messageType: ChargeCard.messageType, channel: ChargeCard.channel,
            traceParent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            payload: try JSONEncoder().encode(ChargeCard(orderID: 3)))

        try await bus.transportForTesting.enqueue(
            envelope, to: [GroupKey(channel: ChargeCard.channel, group: "handler")],
            whenFull: .fail)
        let spans = await finishedSpans()

        let process = try #require(spans.first)
        #expect(spans.count == 1)
        #expect(process.parentSpanID == nil)
        #expect(process.links.isEmpty)
        #expect(process.context.traceID.hex != "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func newTraceMode_linksToCreationInsteadOfParenting() async throws {
        try await bus.subscribe(
            to: OrderPlaced.self, group: "fanout",
            options: SubscriptionOptions(traceMode: .newTraceLinkedToCreation)
        ) { _, _ in }

        try await bus.publish(OrderPlaced(orderID: 4, customer: "c", amount: 5))
        let spans = await finishedSpans()

        let publish = try #require(spans.first { $0.kind == .producer })
        let process = try #require(spans.first { $0.kind == .consumer })
        #expect(process.parentSpanID == nil)
        #expect(process.context.traceID != publish.context.traceID)
        #expect(process.links.first?.context.spanID == publish.context.spanID)
    }

    @Test func disabledTracer_passesIncomingContextThroughUnchanged() async throws {
        let plain = Bus(configuration: BusConfiguration(logger: .disabled))
        let seen = Recorder<Envelope>()
        try await plain.handle(ChargeCard.self) { _, context in
            await seen.append(context.envelope)
        }
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let parent = try #require(TraceParent.parse(incoming)).makeSpanContext()

        try await TracingContext.$current.withValue(parent) {
            try await plain.send(ChargeCard(orderID: 5))
        }
        _ = await plain.shutdown(deadline: .seconds(5))

        #expect(await seen.values.first?.traceParent == incoming)
    }
}
